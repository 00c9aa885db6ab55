"""Supervisor, authorising-officer and auditor routes (JSON); admin: routes_users. The pages in
openlfr.web.pages call the same functions; each route admits only the roles that need it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from openlfr.api.deps import require, state_of
from openlfr.api.params import Moment, Name200, Reason, RowId, WindowHours
from openlfr.service import exceptional as exceptional_reasons
from openlfr.service import views
from openlfr.service.context import utcnow
from openlfr.service.deployments import DeploymentDraft, create_deployment
from openlfr.service.records import deployment_record
from openlfr.service.sessions import Principal
from openlfr.service.subject_decisions import subjects_with_decisions
from openlfr.service.watchlists import compile_watchlist, watchlist_summary
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["governance"])
SUPERVISOR = require(Role.SUPERVISOR)
PLANNERS = require(Role.SUPERVISOR, Role.AUTHORISING_OFFICER)
DEPLOYMENT_READERS = require(Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.OPERATOR, Role.AUDITOR)
RECORD_READERS = require(Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)


class DraftIn(BaseModel):
    name: Name200 = Field(min_length=1)
    purpose: Reason = Field(min_length=1)
    location: Reason = Field(min_length=1)
    location_reason: Reason = Field(min_length=1)
    watchlist_id: RowId
    cameras: list[str] = Field(min_length=1, description="NAME=SOURCE each")
    start: Moment | None = None
    hours: WindowHours = 8.0
    threshold: float | None = None
    equality_note: Reason = ""


class WatchlistIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    subject_refs: list[str] | None = None


def draft_from(body: DraftIn) -> DeploymentDraft:
    cams = []
    for i, spec in enumerate(body.cameras):
        name, sep, source = spec.strip().partition("=")
        cams.append((name.strip(), source.strip()) if sep else (f"camera{i + 1}", spec.strip()))
    start = body.start or utcnow()
    start = start if start.tzinfo else start.replace(tzinfo=UTC)
    return DeploymentDraft(
        body.name, body.purpose, body.location, body.location_reason, start,
        start + timedelta(hours=body.hours), body.watchlist_id, cams, body.threshold,
        body.equality_note,
    )  # fmt: skip


@router.get("/api/deployments")
def deployments(
    request: Request, _: Principal = Depends(DEPLOYMENT_READERS)
) -> list[dict[str, Any]]:
    return views.deployment_rows(state_of(request).store)


@router.post("/api/deployments", status_code=201)
def draft(body: DraftIn, request: Request, who: Principal = Depends(SUPERVISOR)) -> dict[str, Any]:
    """Draft a deployment (supervisor). It cannot run until an authorising officer authorises it."""
    dep_id = create_deployment(state_of(request).context(who.username), draft_from(body))
    return {"id": dep_id, "status": "draft"}


@router.get("/api/deployments/{deployment_id}/record")
def record(
    deployment_id: RowId, request: Request, _: Principal = Depends(RECORD_READERS)
) -> dict[str, Any]:
    return deployment_record(state_of(request).base, deployment_id)


@router.get("/api/watchlists")
def watchlists(request: Request, _: Principal = Depends(PLANNERS)) -> list[dict[str, Any]]:
    svc = state_of(request)
    return [asdict(watchlist_summary(svc.base, i)) for i in views.recent_watchlist_ids(svc.store)]


@router.post("/api/watchlists", status_code=201)
def compose(
    body: WatchlistIn, request: Request, who: Principal = Depends(SUPERVISOR)
) -> dict[str, Any]:
    """Compile and freeze a watchlist from eligible images of the given subjects (all when none)."""
    ctx = state_of(request).context(who.username)
    return asdict(compile_watchlist(ctx, body.name, body.subject_refs or None))


@router.get("/api/subjects")
def subjects(request: Request, who: Principal = Depends(SUPERVISOR)) -> list[dict[str, Any]]:
    """Every subject with each image's eligibility decision and its rule (audited)."""
    return subjects_with_decisions(state_of(request).context(who.username))


@router.get("/api/exceptional")
def exceptional(request: Request, who: Principal = Depends(SUPERVISOR)) -> list[dict[str, Any]]:
    return exceptional_reasons.list_requests(state_of(request).context(who.username))


@router.post("/api/exceptional", status_code=201)
async def request_exception(
    request: Request,
    subject_reference: str = Form(..., max_length=64),
    category: str = Form(...),
    source_ref: str = Form(...),
    lawful_basis: str = Form(...),
    case_outcome: str = Form(...),
    reason: str = Form(...),
    captured_on: str = Form(""),
    age_at_capture: str = Form(""),
    image: UploadFile = File(...),
    who: Principal = Depends(SUPERVISOR),
) -> dict[str, Any]:
    """Hold an image of a person not convicted, with its exceptional reason, for approval."""
    data = await image.read(20 * 1024 * 1024 + 1)
    if len(data) > 20 * 1024 * 1024:
        raise ValueError("image larger than 20 MB")
    fields = dict(subject_reference=subject_reference, category=category, source_ref=source_ref,
                  lawful_basis=lawful_basis, case_outcome=case_outcome, reason=reason,
                  captured_on=captured_on, age_at_capture=age_at_capture)  # fmt: skip
    ctx = state_of(request).context(who.username)
    return {"id": exceptional_reasons.request_exception(ctx, fields, data), "status": "pending"}


@router.post("/api/exceptional/{request_id}/{verdict}")
def decide_exception(
    request_id: RowId, verdict: str, request: Request, who: Principal = Depends(SUPERVISOR)
) -> dict[str, Any]:
    """verdict: approve | reject. The approver must not be the requester (R3)."""
    if verdict not in ("approve", "reject"):
        raise ValueError("verdict must be approve or reject")
    ctx = state_of(request).context(who.username, models=verdict == "approve")
    return {
        "id": request_id,
        "status": exceptional_reasons.decide_request(ctx, request_id, approve=verdict == "approve"),
    }
