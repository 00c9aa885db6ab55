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

from openlfr.api.deps import require, state_of
from openlfr.api.routes_search import read_search_form, upload_investigator
from openlfr.errors import ImageRejected, RuleViolation
from openlfr.service.retro_search import LEADS_NOTICE, retrospective_search
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
_INVESTIGATOR = require(Role.INVESTIGATOR)


def _data_uri(data: bytes) -> str:
    kind = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


@router.get("/search", response_class=HTMLResponse)
def search_form(request: Request, who: Principal = Depends(_INVESTIGATOR)) -> HTMLResponse:
    return page(request, "search.html", who, notice=LEADS_NOTICE, values={}, result=None)


@router.post("/search", response_class=HTMLResponse)
async def search_page(
    request: Request, who: Principal = Depends(upload_investigator)
) -> HTMLResponse:
    data, case_ref, reason, top, face, name = await read_search_form(request)
    values = {"case_ref": case_ref, "reason": reason, "top": str(top), "face": str(face or "")}
    ctx = state_of(request).context(who.username, models=True)
    try:
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
    except (ImageRejected, RuleViolation) as exc:
        return page(
            request, "search.html", who, 422, notice=LEADS_NOTICE, values=values,
            result=None, error=str(exc),
        )  # fmt: skip
    return page(
        request,
        "search.html",
        who,
        notice=LEADS_NOTICE,
        values=values,
        result=result,
        probe=_data_uri(data),
    )
