"""Drafting and authorising a deployment (R5-R7); the run itself is in service/runs.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from openlfr.domain import AuthorisationRequest, check_authorisation, parse_rank
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.refusals import audits_refusals
from openlfr.service.watchlists import watchlist_summary
from openlfr.store import AuditAction, DeploymentStatus
from openlfr.store.models import Camera, Deployment


@dataclass(frozen=True)
class DeploymentDraft:
    name: str
    purpose: str
    location: str
    location_reason: str
    start: datetime
    end: datetime
    watchlist_id: int
    cameras: list[tuple[str, str]]  # (camera name, source spec)
    threshold: float | None = None
    equality_note: str = ""


class AuthorisationRefused(RuleViolation):
    """Every reason an authorisation failed, each citing its rule."""

    def __init__(self, violations: list[RuleViolation]) -> None:
        self.violations = violations
        text = "; ".join(f"{v} ({v.rule})" for v in violations)
        super().__init__(violations[0].rule, f"authorisation refused: {text}")


# A refused draft or authorisation is logged as a refused consultation: what it would have
# allowed is the search of the watchlist (see service/refusals.py for why no verb fits better).
@audits_refusals(
    AuditAction.CONSULTATION,
    "deployment",
    event="deployment_refused",
    object_id=lambda bound: f"draft:{bound['draft'].name}",
)
def create_deployment(ctx: AppContext, draft: DeploymentDraft) -> int:
    if not draft.cameras:
        raise RuleViolation("R5", "a deployment needs at least one camera")
    watchlist = watchlist_summary(ctx, draft.watchlist_id)  # refuses an unknown watchlist
    if watchlist.purged_at is not None:  # its snapshot is gone; compile a new one
        raise RuleViolation("R9", f"watchlist {draft.watchlist_id} was purged: compile a new one")
    with ctx.store.session() as s:
        dep = Deployment(
            name=draft.name,
            purpose=draft.purpose,
            location=draft.location,
            location_reason=draft.location_reason,
            start_at=draft.start,
            end_at=draft.end,
            watchlist_id=draft.watchlist_id,
            threshold=(
                draft.threshold if draft.threshold is not None else ctx.settings.matching.threshold
            ),
            equality_note=draft.equality_note or None,
            created_by=ctx.actor,
            status=DeploymentStatus.DRAFT.value,
        )
        s.add(dep)
        s.flush()
        for cam_name, source in draft.cameras:
            s.add(Camera(deployment_id=dep.id, name=cam_name, source=source))
        return dep.id


@audits_refusals(
    AuditAction.CONSULTATION,
    "deployment",
    event="authorisation_refused",
    object_id="deployment_id",
)
def authorise_deployment(
    ctx: AppContext,
    deployment_id: int,
    *,
    officer: str,
    rank: str,
    reasons: str,
    conditions: str = "",
) -> None:
    """Checks every rule at once and either authorises or raises AuthorisationRefused."""
    wl_id = _deployment(ctx, deployment_id).watchlist_id
    summary = watchlist_summary(ctx, wl_id)
    with ctx.store.session() as s:
        dep = s.get(Deployment, deployment_id)
        assert dep is not None
        if dep.status != DeploymentStatus.DRAFT.value:
            raise RuleViolation("R5", f"deployment {deployment_id} is {dep.status}, not a draft")
        cameras = list(s.scalars(select(Camera.name).where(Camera.deployment_id == dep.id)))
        request = AuthorisationRequest(
            officer_name=officer,
            rank=parse_rank(rank),
            purpose=dep.purpose,
            location=dep.location,
            location_reason=dep.location_reason,
            start=dep.start_at,
            end=dep.end_at,
            cameras=cameras,
            watchlist_id=str(wl_id),
            watchlist_size_by_category=summary.size_by_category,
            watchlist_hash=summary.member_hash,
            threshold=dep.threshold,
            model_name=ctx.settings.vision.embedder,
            equality_note=dep.equality_note or "",
        )
        violations = check_authorisation(request, policy=ctx.settings.governance, now=utcnow())
        if violations:
            raise AuthorisationRefused(violations)
        dep.status = DeploymentStatus.AUTHORISED.value
        dep.authorised_by = officer
        dep.authoriser_rank = request.rank.name.lower()
        dep.authorised_at = utcnow()
        dep.authorisation_reasons = reasons.strip() or None
        dep.authorisation_conditions = conditions.strip() or None


def _deployment(ctx: AppContext, deployment_id: int) -> Deployment:
    with ctx.store.session() as s:
        dep = s.get(Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {deployment_id} does not exist")
        return dep
