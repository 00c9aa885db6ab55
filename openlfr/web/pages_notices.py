"""Public advance notices (R19) on the web: /public/notices (HTML) and /public/notices.json, no
log-in; and what a deployment's page shows of its notice and of the equality evidence at its
threshold. Notices hold only what the public is told: nothing personal."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from openlfr.api.deps import state_of
from openlfr.domain.categories import WatchlistCategory
from openlfr.domain.notices import WithholdReason
from openlfr.domain.reasons import ReasonWanted
from openlfr.service.context import AppContext, utcnow
from openlfr.service.equality import equality_evidence
from openlfr.service.notices import list_notices
from openlfr.store import models as m
from openlfr.store.models_accountability import DeploymentNotice
from openlfr.web import TEMPLATES

router = APIRouter(tags=["public"])

TEMPLATES.env.globals["WITHHOLD_REASONS"] = [(r.value, r.label) for r in WithholdReason]
TEMPLATES.env.globals["WITHHOLD_LABELS"] = {r.value: r.label for r in WithholdReason}
TEMPLATES.env.globals["REASONS_WANTED"] = [
    (c.value, [(r.value, r.label) for r in ReasonWanted if r.category is c])
    for c in WatchlistCategory
]


@router.get("/public/notices", response_class=HTMLResponse)
def notices_page(request: Request, past: bool = False) -> HTMLResponse:
    """Every published notice whose window has not ended (``?past=true``: all of them)."""
    notices = list_notices(state_of(request).base, include_past=past)
    return TEMPLATES.TemplateResponse(
        request, "notices.html", {"notices": notices, "past": past, "who": None}
    )


@router.get("/public/notices.json")
def notices_json(request: Request, past: bool = False) -> Response:
    notices = list_notices(state_of(request).base, include_past=past)
    body = {"schema": "openlfr.notices/1", "notices": [n.as_dict() for n in notices]}
    return Response(json.dumps(body, indent=2) + "\n", media_type="application/json")


def accountability_context(ctx: AppContext, dep: m.Deployment) -> dict[str, Any]:
    """What a deployment's own page shows of issue 13: its notice row and the equality
    evidence at its threshold."""
    with ctx.store.session() as s:
        row = s.scalar(select(DeploymentNotice).where(DeploymentNotice.deployment_id == dep.id))
        if row is not None:
            s.expunge(row)
    return {
        "dep_notice": row,
        "equality": equality_evidence(ctx.settings, dep.threshold, utcnow()),
    }
