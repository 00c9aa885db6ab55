"""The investigator's retrospective search page (R17): probe beside each candidate.

The probe is shown from the upload itself, inline, and never stored. Each candidate's image is
fetched from ``/api/search/{id}/candidates/{rank}/image``: each fetch is an audited view, and a
candidate withdrawn since the search is refused there, not merely hidden here.
"""

from __future__ import annotations

import asyncio
import base64

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from openlfr.api.deps import read_upload, require, require_upload, state_of
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service.retro_search import LEADS_NOTICE
from openlfr.service.retro_search_form import (
    MAX_PROBE_BYTES,
    MAX_SEARCH_BODY_BYTES,
    SearchFormError,
    run_search,
    search_request,
)
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
_INVESTIGATOR = require(Role.INVESTIGATOR)
_UPLOAD_INVESTIGATOR = require_upload(MAX_SEARCH_BODY_BYTES, "one probe image", Role.INVESTIGATOR)


def _data_uri(data: bytes) -> str:
    kind = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


@router.get("/search", response_class=HTMLResponse)
def search_form(request: Request, who: Principal = Depends(_INVESTIGATOR)) -> HTMLResponse:
    return page(request, "search.html", who, notice=LEADS_NOTICE, values={}, result=None)


@router.post("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, who: Principal = Depends(_UPLOAD_INVESTIGATOR)
) -> HTMLResponse:
    form = await request.form()
    values = {k: str(form.get(k) or "") for k in ("case_ref", "reason", "top", "face")}
    try:
        req = search_request(form, await read_upload(form.get("image"), MAX_PROBE_BYTES))
        values = req.values()
        ctx = state_of(request).context(who.username, models=True)
        result = await asyncio.to_thread(run_search, ctx, req)
    except (SearchFormError, ImageRejected, RuleViolation) as exc:  # what was typed stays
        status = exc.status if isinstance(exc, SearchFormError) else 422
        return page(
            request, "search.html", who, status, notice=LEADS_NOTICE, values=values,
            result=None, error=str(exc),
        )  # fmt: skip
    return page(
        request, "search.html", who, notice=LEADS_NOTICE, values=values, result=result,
        probe=_data_uri(req.data),
    )  # fmt: skip
