"""Operator routes: the alert queue, side-by-side images, decisions, outcomes, live health,
starting and stopping runs, the WebSocket feed and /metrics."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request, WebSocket
from fastapi.responses import Response
from pydantic import BaseModel, Field

from openlfr.api.deps import COOKIE, principal_of, refuse, require, state_of
from openlfr.api.params import Reason, RowId
from openlfr.service.alerts import adjudicate, alert_images, list_alerts, record_outcome
from openlfr.service.sessions import Principal, token_digest
from openlfr.service.views import deployment_names
from openlfr.store.models_accounts import Role, SessionKind

router = APIRouter(tags=["operator"])
OPERATOR = require(Role.OPERATOR)
RUNNERS = require(Role.OPERATOR, Role.SUPERVISOR)
MONITOR = require(Role.ADMIN, Role.AUDITOR)


class Decision(BaseModel):
    decision: Literal["confirmed", "false_alert", "not_actioned"]
    reason: Reason = Field(min_length=1, max_length=2000)


class OutcomeIn(BaseModel):
    outcome: str = Field(max_length=64)
    reason: Reason = Field("", max_length=2000)


def _view(v: Any) -> dict[str, Any]:
    d = asdict(v)
    d["raised_at"] = v.raised_at.isoformat()
    return d


@router.get("/api/alerts")
def alerts(
    request: Request,
    status: str | None = None,
    deployment_id: RowId | None = None,
    who: Principal = Depends(OPERATOR),
) -> list[dict[str, Any]]:
    """Alerts (no images), oldest first, each with its deployment's name. Listing is an audited
    consultation."""
    ctx = state_of(request).context(who.username)
    views = list_alerts(
        ctx, deployment_id=deployment_id, status=status, justification="operator alert queue"
    )
    # Each queue entry names its deployment (several may run at once).
    names = deployment_names(ctx.store, {v.deployment_id for v in views})
    return [{**_view(v), "deployment": names.get(v.deployment_id, "")} for v in views]


@router.get(
    "/api/alerts/{alert_id}/{which}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def alert_image(
    alert_id: RowId,
    which: Literal["probe", "reference"],
    request: Request,
    who: Principal = Depends(OPERATOR),
) -> Response:
    """The probe crop or the watchlist image of an alert. Each view is an audited consultation."""
    ctx = state_of(request).context(who.username)
    probe, reference = alert_images(
        ctx, alert_id, justification=f"side-by-side review of alert {alert_id} ({which} image)"
    )
    return Response(probe if which == "probe" else reference, media_type="image/jpeg")


@router.post("/api/alerts/{alert_id}/adjudicate")
def decide(
    alert_id: RowId, body: Decision, request: Request, who: Principal = Depends(OPERATOR)
) -> dict[str, Any]:
    adjudicate(state_of(request).context(who.username), alert_id, body.decision, body.reason)
    return {"id": alert_id, "status": body.decision}


@router.post("/api/alerts/{alert_id}/outcome")
def outcome(
    alert_id: RowId, body: OutcomeIn, request: Request, who: Principal = Depends(OPERATOR)
) -> dict[str, Any]:
    record_outcome(state_of(request).context(who.username), alert_id, body.outcome, body.reason)
    return {"id": alert_id, "outcome": body.outcome}


@router.get("/api/live")
def live(request: Request, _: Principal = Depends(RUNNERS)) -> dict[str, Any]:
    """Running cameras (fps, dropped frames) and the deployments running in this process."""
    svc = state_of(request)
    assert svc.hub is not None and svc.runs is not None
    return {
        "cameras": svc.hub.health,
        "running_here": svc.runs.running(),
        "errors": svc.runs.errors,
    }


@router.post("/api/deployments/{deployment_id}/start", status_code=202)
def start(
    deployment_id: RowId, request: Request, who: Principal = Depends(RUNNERS)
) -> dict[str, Any]:
    """Start an authorised deployment in a background thread of the server."""
    svc = state_of(request)
    assert svc.runs is not None
    svc.runs.start(deployment_id, who.username)
    return {"id": deployment_id, "running": True}


@router.post("/api/deployments/{deployment_id}/stop", status_code=202)
def stop(
    deployment_id: RowId, request: Request, who: Principal = Depends(RUNNERS)
) -> dict[str, Any]:
    """Ask the process running a live deployment (this server or a separate `openlfr
    deployment run`) to stop it: it ends within ~2 s, "stopped by <you>". Audited; 422 (R5)
    when the deployment is not live."""
    svc = state_of(request)
    assert svc.runs is not None
    svc.runs.request_stop(deployment_id, who.username)
    return {"id": deployment_id, "stopping": True}


@router.get("/metrics", response_class=Response)
def metrics(request: Request, _: Principal = Depends(MONITOR)) -> Response:
    """Prometheus exposition (scrape with a bearer token of an admin or auditor account)."""
    return Response(state_of(request).metrics.render(), media_type="text/plain; version=0.0.4")


def _same_origin(ws: WebSocket) -> bool:
    # Browsers send cookies on cross-site WebSocket handshakes and CORS does not apply, so the
    # Origin is checked by hand (cross-site WebSocket hijacking).
    origin = ws.headers.get("origin")
    host = ws.headers.get("host")
    return origin is None or origin.split("://", 1)[-1] == host


@router.websocket("/ws/alerts")
async def ws_alerts(ws: WebSocket) -> None:
    """New alerts and camera health, pushed as JSON messages. Session cookie, operator role."""
    who = await asyncio.to_thread(principal_of, ws)
    if (
        who is None
        or who.via is not SessionKind.COOKIE
        or who.role is not Role.OPERATOR
        or not _same_origin(ws)
    ):
        refuse(
            ws,
            403 if who else 401,
            "alert feed needs an operator's session",
            who.username if who else None,
        )
        await ws.close(code=4403 if who else 4401)
        return
    svc = state_of(ws)
    assert svc.hub is not None
    await ws.accept()
    # One poller (the hub) serves every socket; it re-checks this session as it goes.
    await svc.hub.serve(ws, who.username, token_digest(ws.cookies.get(COOKIE, "")))
