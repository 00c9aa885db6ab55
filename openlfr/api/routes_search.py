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
from starlette.datastructures import FormData

from openlfr.api.deps import read_upload, require, require_upload, state_of
from openlfr.service.retro_search import LEADS_NOTICE, view_candidate
from openlfr.service.retro_search_form import (
    MAX_PROBE_BYTES,
    MAX_SEARCH_BODY_BYTES,
    SearchFormError,
    SearchRequest,
    run_search,
    search_request,
)
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["search"])
_INVESTIGATOR = require(Role.INVESTIGATOR)
_UPLOAD_INVESTIGATOR = require_upload(MAX_SEARCH_BODY_BYTES, "one probe image", Role.INVESTIGATOR)
NOTICE_HEADER = "X-OpenLFR-Notice"
SEARCH_ID_HEADER = "X-OpenLFR-Search-Id"


async def _request(form: FormData) -> SearchRequest:
    try:
        return search_request(form, await read_upload(form.get("image"), MAX_PROBE_BYTES))
    except SearchFormError as exc:
        raise HTTPException(exc.status, str(exc)) from exc


@router.post("/api/search")
async def search(request: Request, who: Principal = Depends(_UPLOAD_INVESTIGATOR)) -> Response:
    req = await _request(await request.form())
    ctx = state_of(request).context(who.username, models=True)
    result = await asyncio.to_thread(run_search, ctx, req)
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
