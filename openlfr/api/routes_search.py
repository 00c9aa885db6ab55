"""Retrospective search through the API (R17): the investigator's role, and only theirs.

``POST /api/search`` (multipart: image, case_ref, reason, top, face) answers exactly what
``openlfr search --json`` prints; the notice that candidates are leads, never identifications,
and the search's audit id (which a candidate's image is fetched by) come as headers, so the body
keeps the one interface. ``GET /api/search/{id}/candidates/{rank}/image`` returns one
candidate's custody image, each fetch an audited consultation.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from openlfr.api.deps import require, state_of
from openlfr.service.retro_search import LEADS_NOTICE, retrospective_search, view_candidate
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["search"])
MIB = 2**20
#: A probe is one photograph; the limit is checked from Content-Length before the body is read.
MAX_PROBE_BYTES = 20 * MIB
_INVESTIGATOR = require(Role.INVESTIGATOR)
NOTICE_HEADER = "X-OpenLFR-Notice"
SEARCH_ID_HEADER = "X-OpenLFR-Search-Id"


async def upload_investigator(request: Request) -> Principal:
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        raise HTTPException(411, "an upload must state its length (Content-Length)")
    if int(length) > MAX_PROBE_BYTES + MIB:
        raise HTTPException(413, f"a probe image may be at most {MAX_PROBE_BYTES // MIB} MiB")
    return await _INVESTIGATOR(request)


def _int(value: object, name: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    text = str(value).strip()
    if not text.lstrip("-").isdigit() or len(text) > 6:
        raise HTTPException(422, f"{name} must be a whole number")
    return int(text)


async def read_search_form(request: Request) -> tuple[bytes, str, str, int, int | None, str]:
    """The form's fields, checked for shape; the rules themselves are the service's."""
    form = await request.form()
    upload = form.get("image")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "image: a probe image file is required")
    data = await upload.read(MAX_PROBE_BYTES + 1)
    if len(data) > MAX_PROBE_BYTES:
        raise HTTPException(413, f"a probe image may be at most {MAX_PROBE_BYTES // MIB} MiB")
    top = _int(form.get("top"), "top", 20)
    assert top is not None
    return (
        data,
        str(form.get("case_ref") or ""),
        str(form.get("reason") or ""),
        top,
        _int(form.get("face"), "face", None),
        upload.filename or "probe",
    )


@router.post("/api/search")
async def search(request: Request, who: Principal = Depends(upload_investigator)) -> Response:
    data, case_ref, reason, top, face, name = await read_search_form(request)
    ctx = state_of(request).context(who.username, models=True)
    result = await asyncio.to_thread(
        retrospective_search,
        ctx,
        data,
        case_ref=case_ref,
        reason=reason,
        top=top,
        face=face,
        name=name,
    )
    headers = {NOTICE_HEADER: LEADS_NOTICE, SEARCH_ID_HEADER: str(result.audit_id)}
    return JSONResponse(result.as_json(), headers=headers)


@router.get("/api/search/{search_id}/candidates/{rank}/image")
def candidate_image(
    search_id: int, rank: int, request: Request, who: Principal = Depends(_INVESTIGATOR)
) -> Response:
    if not (1 <= search_id < 2**62 and 1 <= rank <= 1000):
        raise HTTPException(404, "no such search or candidate")
    view = view_candidate(state_of(request).context(who.username), search_id, rank)
    return Response(
        view.image,
        media_type=view.media_type,
        headers={NOTICE_HEADER: LEADS_NOTICE, "Cache-Control": "no-store"},
    )
