"""Enrolment through the API: ``POST /api/subjects``, multipart. The use-case, with its rules
and limits, is service/enrol_uploads (shared with the enrolment page); this module reads the
form and declares the multipart body by hand.

Uploads are bounded twice: the whole body by its Content-Length, checked before anything is
read (the CSRF check would otherwise spool it all), and each image by its own size, so one
oversized or broken file is refused on its own and the others are still enrolled.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, Request

from openlfr.api.deps import read_upload, require_upload, state_of
from openlfr.service import enrol_uploads as use_case
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["governance"])
#: What the upload middleware (api.uploads) allows the two enrolment forms, before any is read.
_ENROL_LIMIT = (use_case.MAX_BODY_BYTES, use_case.BODY_LIMIT_MADE_OF)
UPLOAD_LIMITS = {"/api/subjects": _ENROL_LIMIT, "/enrol": _ENROL_LIMIT}
_UPLOAD_SUPERVISOR = require_upload(*_ENROL_LIMIT, Role.SUPERVISOR)


def _error(description: str) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_TEXT = {"type": "string", "maxLength": 10_000}
#: The multipart body, declared by hand: the route reads the form itself (to bound it before
#: parsing), so FastAPI cannot infer it.
ENROL_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["reference", "category", "images"],
                "properties": {
                    "reference": {"type": "string", "maxLength": 64},
                    "display_name": {"type": "string", "maxLength": 200},
                    "category": {"type": "string", "maxLength": 64},
                    **{f: _TEXT for f in use_case.FACT_FIELDS},
                    "images": {
                        "type": "array",
                        "maxItems": use_case.MAX_IMAGES,
                        "items": {"type": "string", "format": "binary"},
                    },
                },
            },
            "encoding": {"images": {"contentType": "image/*, application/octet-stream"}},
        }
    },
}
ENROL_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("A malformed form (no reference, no image, an unknown category)."),
    401: _error("Not logged in."),
    403: _error("Not a supervisor, or the page's CSRF token is missing."),
    404: _error("Not found."),
    411: _error("No Content-Length."),
    413: _error("Over the upload limit: nothing was enrolled."),
    422: _error("A rule refused the subject (its rule and reason)."),
    429: _error("Too many requests."),
}


@router.post("/api/subjects", openapi_extra={"requestBody": ENROL_BODY}, responses=ENROL_RESPONSES)
async def enrol(request: Request, who: Principal = Depends(_UPLOAD_SUPERVISOR)) -> dict[str, Any]:
    """Enrol a subject from uploaded images (multipart: reference, display_name, category, the
    custody facts shared by every image, and one or more files under 'images'). Each image's
    decision is returned: enrolled, refused with its rule and reason, or held for approval."""
    form = await request.form(max_files=use_case.MAX_IMAGES + 1)
    rows = [
        use_case.upload_row(form, "", *upload)
        for item in form.getlist("images")
        if (upload := await read_upload(item, use_case.MAX_IMAGE_BYTES))
    ]
    ctx = state_of(request).context(who.username, models=True)
    decisions = await asyncio.to_thread(
        use_case.enrol_uploads, ctx, reference=str(form.get("reference") or ""),
        display_name=str(form.get("display_name") or ""),
        category=str(form.get("category") or ""), rows=rows,
        reason_wanted=str(form.get("reason_wanted") or ""),
    )  # fmt: skip
    return {"reference": str(form.get("reference") or "").strip(), "images": decisions}
