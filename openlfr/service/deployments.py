"""Drafting, reviewing and authorising a deployment (R5-R7); the run is in service/runs.py.

A supervisor drafts; the draft is checked at once against every rule an authorising officer
could not mend (``domain.check_draft``) and its file and device sources are probed, so a draft
that could never run is refused while it is being written. The supervisor may amend a draft (or
one returned for changes) and withdraw it until it goes live. The authorising officer
authorises it with reasons (and conditions), refuses it (final) or returns it for changes.

Every one of these acts is in the audit log, in the same transaction as the change itself, and
every refusal by a rule too (``audits_refusals``). They are logged as ``consultation``: DPA 2018
s62 has six verbs and none for "decided about"; what each of these decisions grants, withholds or
prepares is the live search of the watchlist, a consultation of its images, so the same verb the
refusals of these acts already use keeps one deployment's whole history under one action, told
apart by ``event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from openlfr.domain import (
    AuthorisationRequest,
    DraftRequest,
    FieldViolation,
    check_authorisation,
    check_draft,
    cite,
    parse_rank,
)
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.notices import notice_plan_violations, publish_notice
from openlfr.service.refusals import audits_refusals
from openlfr.service.source_probe import SourceVerdict, probe_source
from openlfr.service.watchlists import WatchlistSummary, watchlist_summary
from openlfr.store import AuditAction, DeploymentStatus, append_audit
from openlfr.store.integrity import bind
from openlfr.store.models import Camera, Deployment

__all__ = [
    "AuthorisationRefused",
    "DeploymentDraft",
    "DraftRefused",
    "amend_deployment",
    "audit_deployment",
    "authorise_deployment",
    "camera_sources",
    "create_deployment",
    "refuse_deployment",
    "require_status",
    "return_deployment",
    "withdraw_deployment",
]

_DRAFT, _RETURNED = DeploymentStatus.DRAFT.value, DeploymentStatus.RETURNED.value
_AUTHORISED = DeploymentStatus.AUTHORISED.value


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

    prefix = "authorisation refused"

    def __init__(self, violations: list[RuleViolation]) -> None:
        self.violations = violations
        text = "; ".join(f"{v} ({v.rule})" for v in violations)
        super().__init__(violations[0].rule, f"{self.prefix}: {text}")


class DraftRefused(AuthorisationRefused):
    """Every reason a draft could never be authorised. A subclass of ``AuthorisationRefused``
    because that is what it foretells: callers list ``violations`` the same way for both."""

    prefix = "draft refused"


def _source_violations(verdicts: list[SourceVerdict]) -> list[RuleViolation]:
    return [
        FieldViolation(
            "R5", f"camera {v.camera!r} cannot be used: {v.detail} ({cite('R5')})", "cameras"
        )
        for v in verdicts
        if not v.ok
    ]


def _usable_watchlist(ctx: AppContext, watchlist_id: int) -> WatchlistSummary:
    summary = watchlist_summary(ctx, watchlist_id)  # refuses an unknown watchlist (R6)
    if summary.purged_at is not None:  # its snapshot is gone; compile a new one
        raise FieldViolation(
            "R9", f"watchlist {watchlist_id} was purged: compile a new one", "watchlist_id"
        )
    return summary


def _check(ctx: AppContext, draft: DeploymentDraft) -> float:
    """Refuses (``DraftRefused``) a draft that could never be authorised; its threshold."""
    summary = _usable_watchlist(ctx, draft.watchlist_id)
    threshold = draft.threshold if draft.threshold is not None else ctx.settings.matching.threshold
    request = DraftRequest(
        purpose=draft.purpose,
        location=draft.location,
        location_reason=draft.location_reason,
        start=draft.start,
        end=draft.end,
        cameras=[name for name, _ in draft.cameras],
        watchlist_id=str(draft.watchlist_id),
        watchlist_size_by_category=summary.size_by_category,
        watchlist_hash=summary.member_hash,
        threshold=threshold,
        model_name=ctx.settings.vision.embedder,
    )
    found = check_draft(request, policy=ctx.settings.governance, now=utcnow())
    # URLs are not opened here: the camera may not be up yet. Authorisation opens them.
    found += _source_violations(
        [probe_source(name, source, open_urls=False) for name, source in draft.cameras]
    )
    if found:
        raise DraftRefused(found)
    return threshold


def _write(s: Session, dep: Deployment, draft: DeploymentDraft, threshold: float) -> None:
    dep.name, dep.purpose, dep.location = draft.name, draft.purpose, draft.location
    dep.location_reason, dep.start_at, dep.end_at = draft.location_reason, draft.start, draft.end
    dep.watchlist_id, dep.threshold = draft.watchlist_id, threshold
    dep.equality_note = draft.equality_note or None
    if dep.id is None:
        s.add(dep)
        s.flush()
    else:
        s.execute(delete(Camera).where(Camera.deployment_id == dep.id))
    s.add_all(Camera(deployment_id=dep.id, name=n, source=src) for n, src in draft.cameras)


def _summary(draft: DeploymentDraft, threshold: float) -> dict[str, Any]:
    return {
        "name": draft.name,
        "location": draft.location,
        "start": draft.start.isoformat(),
        "end": draft.end.isoformat(),
        "watchlist_id": draft.watchlist_id,
        "threshold": threshold,
        "cameras": [name for name, _ in draft.cameras],
    }


def camera_sources(s: Session, deployment_id: int) -> list[tuple[str, str]]:
    """The deployment's cameras as (name, source), in the order they were drafted."""
    rows = s.execute(
        select(Camera.name, Camera.source)
        .where(Camera.deployment_id == deployment_id)
        .order_by(Camera.id)
    )
    return [(name, source) for name, source in rows]


def audit_deployment(
    s: Session,
    ctx: AppContext,
    dep_id: int,
    event: str,
    justification: str,
    detail: dict[str, Any] | None = None,
) -> None:
    append_audit(
        s,
        actor=ctx.actor,
        action=AuditAction.CONSULTATION,
        event=event,
        object_type="deployment",
        object_id=dep_id,
        justification=justification,
        detail=detail,
    )


@audits_refusals(
    AuditAction.CONSULTATION,
    "deployment",
    event="draft_refused",
    object_id=lambda bound: f"draft:{bound['draft'].name}",
)
def create_deployment(ctx: AppContext, draft: DeploymentDraft) -> int:
    """A new draft, or ``DraftRefused`` listing everything that would stop its authorisation."""
    threshold = _check(ctx, draft)
    with ctx.store.session() as s:
        dep = Deployment(created_by=ctx.actor, status=_DRAFT)
        _write(s, dep, draft, threshold)
        audit_deployment(
            s,
            ctx,
            dep.id,
            "deployment_drafted",
            f"drafted for authorisation: {draft.purpose.strip()} at {draft.location.strip()}",
            _summary(draft, threshold),
        )
        return dep.id


def require_status(
    dep: Deployment | None, deployment_id: int, allowed: tuple[str, ...], act: str
) -> Deployment:
    """R5: the deployment exists and is in one of the ``allowed`` states for ``act``."""
    if dep is None:
        raise RuleViolation("R5", f"deployment {deployment_id} does not exist")
    if dep.status not in allowed:
        raise RuleViolation(
            "R5",
            f"deployment {deployment_id} is {dep.status}: only one that is "
            f"{' or '.join(allowed)} can be {act}",
        )
    return dep


def _load(s: Session, deployment_id: int, allowed: tuple[str, ...], act: str) -> Deployment:
    return require_status(s.get(Deployment, deployment_id), deployment_id, allowed, act)


@audits_refusals(
    AuditAction.CONSULTATION, "deployment", event="amendment_refused", object_id="deployment_id"
)
def amend_deployment(ctx: AppContext, deployment_id: int, draft: DeploymentDraft) -> None:
    """Rewrites a draft, or one returned for changes, which makes it a draft again."""
    with ctx.store.session() as s:
        _load(s, deployment_id, (_DRAFT, _RETURNED), "amended")
    threshold = _check(ctx, draft)
    with ctx.store.session() as s:
        dep = _load(s, deployment_id, (_DRAFT, _RETURNED), "amended")
        was = dep.status
        _write(s, dep, draft, threshold)
        dep.status = _DRAFT
        audit_deployment(
            s,
            ctx,
            dep.id,
            "deployment_amended",
            f"amended ({'after being returned for changes' if was == _RETURNED else 'draft'})"
            f"; submitted again for authorisation",
            _summary(draft, threshold),
        )


def _need(text: str, what: str, field: str) -> str:
    if not text or not text.strip():
        raise FieldViolation("R5", f"the {what} is not stated ({cite('R5')})", field)
    return text.strip()


#: Which states each review may leave: only a draft is the officer's; withdrawal, until live.
_REVIEWABLE = {
    DeploymentStatus.REFUSED: (_DRAFT,),
    DeploymentStatus.RETURNED: (_DRAFT,),
    DeploymentStatus.WITHDRAWN: (_DRAFT, _RETURNED, _AUTHORISED),
}


def _review(
    ctx: AppContext, deployment_id: int, by: str, reason: str, to: DeploymentStatus, verb: str
) -> None:
    why = _need(reason, f"reason for the {verb.split()[0]}", "reason")
    with ctx.store.session() as s:
        dep = _load(s, deployment_id, _REVIEWABLE[to], verb)
        was = dep.status
        dep.status = to.value
        dep.review_note, dep.reviewed_by, dep.reviewed_at = why, by, utcnow()
        audit_deployment(
            s,
            ctx,
            dep.id,
            f"deployment_{to.value}",  # deployment_refused, _returned, _withdrawn
            f"{verb} by {by}: {why}",
            {"from": was, "to": to.value, "by": by},
        )


@audits_refusals(
    AuditAction.CONSULTATION, "deployment", event="withdrawal_refused", object_id="deployment_id"
)
def withdraw_deployment(ctx: AppContext, deployment_id: int, *, reason: str) -> None:
    """A deployment not yet live is withdrawn for good (its watchlist is no longer held)."""
    _review(ctx, deployment_id, ctx.actor, reason, DeploymentStatus.WITHDRAWN, "withdrawn")


_officers_review = audits_refusals(
    AuditAction.CONSULTATION, "deployment", event="review_refused", object_id="deployment_id"
)


def _officers(
    ctx: AppContext, deployment_id: int, officer: str, reason: str, to: DeploymentStatus, verb: str
) -> None:
    """The authorising officer sends a draft to ``to``, saying why."""
    _review(ctx, deployment_id, _need(officer, "authorising officer", "officer"), reason, to, verb)


@_officers_review
def refuse_deployment(ctx: AppContext, deployment_id: int, *, officer: str, reason: str) -> None:
    """The authorising officer's refusal: final, a new draft is needed."""
    _officers(ctx, deployment_id, officer, reason, DeploymentStatus.REFUSED, "refused")


@_officers_review
def return_deployment(ctx: AppContext, deployment_id: int, *, officer: str, reason: str) -> None:
    """Back to the supervisor for changes; amending it submits it again."""
    returned = DeploymentStatus.RETURNED
    _officers(ctx, deployment_id, officer, reason, returned, "returned for changes")


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
    withhold_notice: str | None = None,
    withhold_note: str = "",
) -> None:
    """Every rule checked at once (sources opened): authorised with its notice (R19), or refused."""
    with ctx.store.session() as s:
        dep = _load(s, deployment_id, (_DRAFT,), "authorised")
        wl_id, sources = dep.watchlist_id, camera_sources(s, dep.id)
    summary = _usable_watchlist(ctx, wl_id)
    # Outside any transaction: opening a stream may take seconds and must not hold the store.
    verdicts = [probe_source(name, source, open_urls=True) for name, source in sources]
    with ctx.store.session() as s:
        dep = _load(s, deployment_id, (_DRAFT,), "authorised")  # again: it may have changed
        request = AuthorisationRequest(
            officer_name=officer,
            rank=parse_rank(rank),
            purpose=dep.purpose,
            location=dep.location,
            location_reason=dep.location_reason,
            start=dep.start_at,
            end=dep.end_at,
            cameras=[name for name, _ in sources],
            watchlist_id=str(wl_id),
            watchlist_size_by_category=summary.size_by_category,
            watchlist_hash=summary.member_hash,
            threshold=dep.threshold,
            model_name=ctx.settings.vision.embedder,
            equality_note=dep.equality_note or "",
            reasons=reasons,
        )
        violations = check_authorisation(request, policy=ctx.settings.governance, now=utcnow())
        violations += _source_violations(verdicts)
        violations += notice_plan_violations(ctx, dep, utcnow(), withhold_notice, withhold_note)
        if violations:
            raise AuthorisationRefused(violations)
        dep.status = _AUTHORISED
        dep.authorised_by = officer.strip()
        dep.authoriser_rank = request.rank.name.lower()
        dep.authorised_at = utcnow()
        dep.authorisation_reasons = reasons.strip()
        dep.authorisation_conditions = conditions.strip() or None
        bind(s, dep)  # threshold, window, officer, rank, cameras: checked again at every run
        audit_deployment(
            s,
            ctx,
            dep.id,
            "deployment_authorised",
            f"authorised by {request.rank.label} {dep.authorised_by}: {dep.authorisation_reasons}"
            + (f"; conditions: {dep.authorisation_conditions}" if conditions.strip() else ""),
            {
                "officer": dep.authorised_by,
                "rank": dep.authoriser_rank,
                "watchlist_id": wl_id,
                "watchlist_hash": summary.member_hash,
                "threshold": dep.threshold,
                "sources": {v.camera: v.detail for v in verdicts},
            },
        )
        publish_notice(s, ctx, dep, summary.size_by_category, withhold_notice, withhold_note)
