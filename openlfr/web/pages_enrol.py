"""The supervisor's enrolment page: a subject, one or more images, each with its custody
facts; the result shows each image's decision. Same rules and service as `openlfr enrol`
(the use-case is service/enrol_uploads, shared with the API). The typed facts are shown again
with the result, so that a refused image can be corrected without retyping the others."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from openlfr.api.deps import read_upload, require, require_upload, state_of
from openlfr.domain import CaseOutcome, WatchlistCategory
from openlfr.errors import RuleViolation
from openlfr.service.enrol_uploads import (
    BODY_LIMIT_MADE_OF,
    DEFAULT_BASIS,
    FACT_FIELDS,
    MAX_BODY_BYTES,
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    enrol_uploads,
    upload_row,
)
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
ROWS = MAX_IMAGES  # the page offers as many images as the rules allow


def _render(
    request: Request, who: Principal, values: dict[str, str], status: int = 200, **extra: object
) -> HTMLResponse:
    return page(
        request, "enrol.html", who, status, values=values, rows=range(ROWS),
        categories=[c.value for c in WatchlistCategory], outcomes=[o.value for o in CaseOutcome],
        default_basis=DEFAULT_BASIS, max_image_bytes=MAX_IMAGE_BYTES,
        max_body_bytes=MAX_BODY_BYTES, max_images=MAX_IMAGES, **extra,
    )  # fmt: skip


SUPERVISOR = require(Role.SUPERVISOR)
UPLOAD_SUPERVISOR = require_upload(MAX_BODY_BYTES, BODY_LIMIT_MADE_OF, Role.SUPERVISOR)
#: Each form row's fields are named FIELD{slot}, its file image{slot}.
SLOTS = [f"_{i}" for i in range(ROWS)]


@router.get("/enrol", response_class=HTMLResponse)
def enrol_form(request: Request, who: Principal = Depends(SUPERVISOR)) -> HTMLResponse:
    return _render(request, who, {})


@router.post("/enrol", response_class=HTMLResponse)
async def enrol(request: Request, who: Principal = Depends(UPLOAD_SUPERVISOR)) -> HTMLResponse:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    rows = [
        upload_row(form, slot, *upload)
        for slot in SLOTS
        if (upload := await read_upload(form.get(f"image{slot}"), MAX_IMAGE_BYTES))
    ]
    ctx = state_of(request).context(who.username, models=True)
    try:
        decisions = await asyncio.to_thread(
            enrol_uploads, ctx, reference=values.get("reference", ""),
            display_name=values.get("display_name", ""), category=values.get("category", ""),
            rows=rows, reason_wanted=values.get("reason_wanted", ""),
        )  # fmt: skip
    except (RuleViolation, ValueError) as exc:  # nothing was enrolled: say why, keep the facts
        rule = getattr(exc, "rule", None)
        return _render(request, who, values, 422, error=f"{rule + ': ' if rule else ''}{exc}")
    # Files cannot be put back into a form; the facts of rows already dealt with are cleared
    # so that a second submit does not enrol them twice; a refused row's stay, to be corrected.
    for d in decisions:
        if d["status"] != "refused":
            for f in FACT_FIELDS:
                values.pop(f"{f}{d['slot']}", None)
    return _render(request, who, values, decisions=decisions)
