"""A draft's review (JSON): the authorising officer's brief, authorise (reasons required,
conditions optional), refuse and return for changes; the supervisor's amendment and withdrawal.
Decisions are taken under the name and rank on the caller's account, never under typed ones."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openlfr.api.deps import require, state_of
from openlfr.api.params import Reason, RowId
from openlfr.api.routes_admin import DraftIn, draft_from
from openlfr.service.authorisation_brief import authorisation_brief
from openlfr.service.deployments import (
    amend_deployment,
    authorise_deployment,
    refuse_deployment,
    return_deployment,
    withdraw_deployment,
)
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["governance"])
SUPERVISOR = require(Role.SUPERVISOR)
AUTHORISER = require(Role.AUTHORISING_OFFICER)
PLANNERS = require(Role.SUPERVISOR, Role.AUTHORISING_OFFICER)


class AuthoriseIn(BaseModel):
    reasons: Reason = Field(
        max_length=10_000,
        description="Why the deployment is necessary and proportionate (required, not blank).",
    )
    conditions: Reason = Field("", max_length=10_000)


class ReasonIn(BaseModel):
    reason: Reason = Field(max_length=10_000)


@router.get("/api/deployments/{deployment_id}/brief")
def brief(
    deployment_id: RowId,
    request: Request,
    probe_urls: bool = True,
    who: Principal = Depends(PLANNERS),
) -> dict[str, Any]:
    """What the authorising officer decides on: watchlist members, each camera source's
    verdict, the threshold and its floor with the calibration evidence, the equality note.
    Audited (it lists the watchlist's members)."""
    b = authorisation_brief(
        state_of(request).context(who.username), deployment_id, probe_urls=probe_urls
    )
    out = asdict(b)
    out["start"], out["end"] = b.start.isoformat(), b.end.isoformat()
    out["weak_only"] = list(b.weak_only)  # a property: asdict keeps fields only
    for member in out["members"]:
        captured = member["image_captured"]
        member["image_captured"] = captured.isoformat() if captured else None
    return out


@router.post("/api/deployments/{deployment_id}/authorise")
def authorise(
    deployment_id: RowId, body: AuthoriseIn, request: Request, who: Principal = Depends(AUTHORISER)
) -> dict[str, Any]:
    """Authorise as the logged-in officer, at the rank on their account. 422 lists every rule
    the draft fails (a camera that cannot be opened among them)."""
    ctx = state_of(request).context(who.username)
    # An authorising officer's account always records a rank (create_account); an empty one is
    # still refused by the rank rule itself (parse_rank, R5), as on the web and the CLI.
    authorise_deployment(
        ctx,
        deployment_id,
        officer=who.display_name,
        rank=who.rank or "",
        reasons=body.reasons,
        conditions=body.conditions,
    )
    return {"id": deployment_id, "status": "authorised"}


@router.post("/api/deployments/{deployment_id}/refuse")
def refuse(
    deployment_id: RowId, body: ReasonIn, request: Request, who: Principal = Depends(AUTHORISER)
) -> dict[str, Any]:
    """Refuse a draft, for good (a new draft is needed). The reason is required."""
    ctx = state_of(request).context(who.username)
    refuse_deployment(ctx, deployment_id, officer=who.display_name, reason=body.reason)
    return {"id": deployment_id, "status": "refused"}


@router.post("/api/deployments/{deployment_id}/return")
def return_for_changes(
    deployment_id: RowId, body: ReasonIn, request: Request, who: Principal = Depends(AUTHORISER)
) -> dict[str, Any]:
    """Send a draft back to its supervisor for changes. The reason is required."""
    ctx = state_of(request).context(who.username)
    return_deployment(ctx, deployment_id, officer=who.display_name, reason=body.reason)
    return {"id": deployment_id, "status": "returned"}


@router.post("/api/deployments/{deployment_id}/withdraw")
def withdraw(
    deployment_id: RowId, body: ReasonIn, request: Request, who: Principal = Depends(SUPERVISOR)
) -> dict[str, Any]:
    """Withdraw a deployment that is not yet live (draft, returned or authorised)."""
    ctx = state_of(request).context(who.username)
    withdraw_deployment(ctx, deployment_id, reason=body.reason)
    return {"id": deployment_id, "status": "withdrawn"}


def _amend(deployment_id: RowId, body: DraftIn, request: Request, who: Principal) -> dict[str, Any]:
    amend_deployment(state_of(request).context(who.username), deployment_id, draft_from(body))
    return {"id": deployment_id, "status": "draft"}


@router.put("/api/deployments/{deployment_id}")
def amend(
    deployment_id: RowId, body: DraftIn, request: Request, who: Principal = Depends(SUPERVISOR)
) -> dict[str, Any]:
    """Rewrite a draft (or one returned for changes): checked as at drafting, then a draft
    again, awaiting authorisation."""
    return _amend(deployment_id, body, request, who)


@router.post("/api/deployments/{deployment_id}")
def amend_post(
    deployment_id: RowId, body: DraftIn, request: Request, who: Principal = Depends(SUPERVISOR)
) -> dict[str, Any]:
    """The same as PUT, for clients that only POST."""
    return _amend(deployment_id, body, request, who)
