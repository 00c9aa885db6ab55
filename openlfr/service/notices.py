"""Advance public notices of deployments (R19): put up at authorisation, listed on /public and
by `openlfr notices`, and the check that a run waits for its notice period.

A notice is written in the transaction that authorises the deployment, so no deployment is
authorised without either a notice or a recorded, listed reason for withholding it. Both are in
the audit log. A notice holds only what the public is told: area, window, purpose, watchlist
size by category, the authorising rank and how to ask questions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from openlfr.domain import size_by_category
from openlfr.domain.authorisation import check_notice_passed
from openlfr.domain.notices import (
    NoticeFacts,
    check_notice_plan,
    notice_may_start_at,
    parse_withhold_reason,
)
from openlfr.domain.ranks import parse_rank
from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_accountability import DeploymentNotice

__all__ = [
    "PublicNotice",
    "check_notice_period",
    "list_notices",
    "notice_of",
    "notice_plan_violations",
    "publish_notice",
    "publish_throwaway_notice",
    "withheld_count",
]

#: What a deployment's status means on its notice, in public words.
_PUBLIC_STATUS = {
    "authorised": "planned",
    "live": "in progress",
    "ended": "ended",
    "withdrawn": "cancelled",
}


@dataclass(frozen=True)
class PublicNotice:
    """One notice as the public reads it. Nothing personal: no names, no references."""

    notice_id: int
    deployment_id: int
    status: str
    area: str
    start: str
    end: str
    purpose: str
    watchlist_size: int
    watchlist_size_by_category: dict[str, int]
    authorising_rank: str
    published_at: str
    may_start_at: str
    notice_hours: float
    contact: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def notice_plan_violations(
    ctx: AppContext,
    dep: m.Deployment,
    now: datetime,
    withhold: str | None,
    withhold_note: str,
) -> list[RuleViolation]:
    """What stops authorising ``dep`` now as far as its notice goes (R19)."""
    return check_notice_plan(
        start=dep.start_at,
        end=dep.end_at,
        now=now,
        notice_hours=ctx.settings.accountability.notice_hours,
        withhold=withhold,
        withhold_note=withhold_note,
    )


def publish_notice(
    s: Session,
    ctx: AppContext,
    dep: m.Deployment,
    size_by_category: Mapping[str, int],
    withhold: str | None = None,
    withhold_note: str = "",
    *,
    rank_label: str | None = None,
) -> DeploymentNotice:
    """The notice of a deployment being authorised in ``s`` (or the record of its withholding),
    put up at its ``authorised_at`` and audited in the same transaction. Call after
    ``notice_plan_violations`` found nothing."""
    now = dep.authorised_at or utcnow()
    hours = ctx.settings.accountability.notice_hours
    withheld = parse_withhold_reason(withhold) if withhold and withhold.strip() else None
    rank = rank_label or parse_rank(dep.authoriser_rank or "").label
    notice = DeploymentNotice(
        deployment_id=dep.id,
        published_at=None if withheld else now,
        may_start_at=dep.start_at if withheld else notice_may_start_at(now, dep.start_at, hours),
        notice_hours=0.0 if withheld else hours,
        area=dep.location,
        purpose=dep.purpose,
        start_at=dep.start_at,
        end_at=dep.end_at,
        watchlist_size_by_category=json.dumps(dict(sorted(size_by_category.items()))),
        authorising_rank=rank,
        contact=ctx.settings.accountability.contact,
        withheld_reason=withheld.value if withheld else None,
        withheld_note=withhold_note.strip() or None if withheld else None,
        withheld_by=ctx.actor if withheld else None,
    )
    s.add(notice)
    s.flush()
    if withheld:
        event = "notice_withheld"
        why = f"public notice withheld: {withheld.label}; {withhold_note.strip()}"
    else:
        event = "notice_published"
        why = (
            f"public notice {notice.id} published; the deployment may start from "
            f"{notice.may_start_at:%Y-%m-%d %H:%M} UTC ({hours:g} h notice, {cite('R19')})"
        )
    append_audit(
        s,
        actor=ctx.actor,
        action=AuditAction.CONSULTATION,
        event=event,
        object_type="deployment",
        object_id=dep.id,
        justification=why,
        detail={"notice_id": notice.id, "withheld_reason": notice.withheld_reason},
    )
    return notice


def publish_throwaway_notice(s: Session, ctx: AppContext, dep: m.Deployment) -> DeploymentNotice:
    """The notice of an evaluation's synthetic authorisation (`openlfr eval video`), on its
    throw-away store: published at once with a notice period of zero, so the run's R19 check
    passes on a recorded notice like any other. Refused on a store whose notice period is not
    zero: that is a force's store, where only an officer's authorisation may put a notice up."""
    hours = ctx.settings.accountability.notice_hours
    if hours != 0:
        raise RuleViolation(
            "R19",
            f"a synthetic (evaluation) authorisation needs a throw-away store with notice "
            f"period 0 h, not {hours:g} h ({cite('R19')})",
        )
    rows = s.execute(
        select(m.Subject.reference, m.ReferenceImage.image_sha256, m.WatchlistEntry.category)
        .join(m.Subject, m.Subject.id == m.WatchlistEntry.subject_id)
        .join(m.ReferenceImage, m.ReferenceImage.id == m.WatchlistEntry.reference_image_id)
        .where(m.WatchlistEntry.watchlist_id == dep.watchlist_id)
    ).all()
    sizes = size_by_category([(r[0], r[1], r[2]) for r in rows]) if rows else {}
    return publish_notice(s, ctx, dep, sizes, rank_label="n/a (evaluation, throw-away store)")


def _facts(s: Session, deployment_id: int) -> NoticeFacts | None:
    row = s.scalar(select(DeploymentNotice).where(DeploymentNotice.deployment_id == deployment_id))
    if row is None:
        return None
    return NoticeFacts(row.published_at, row.notice_hours, row.withheld_reason)


def check_notice_period(dep: m.Deployment) -> None:
    """R19 (R5 extended): refuses to start ``dep`` (a row loaded in an open session) before its
    notice period has passed, unless its notice was withheld for a listed reason."""
    s = object_session(dep)
    if s is None:  # pragma: no cover - callers pass a row from an open session
        raise ValueError("check_notice_period needs a deployment loaded in a session")
    check_notice_passed(dep.id, dep.start_at, _facts(s, dep.id), utcnow())


def _public(row: DeploymentNotice, status: str) -> PublicNotice:
    sizes = {str(k): int(v) for k, v in json.loads(row.watchlist_size_by_category).items()}
    assert row.published_at is not None
    return PublicNotice(
        notice_id=row.id,
        deployment_id=row.deployment_id,
        status=_PUBLIC_STATUS.get(status, status),
        area=row.area,
        start=row.start_at.isoformat(),
        end=row.end_at.isoformat(),
        purpose=row.purpose,
        watchlist_size=sum(sizes.values()),
        watchlist_size_by_category=sizes,
        authorising_rank=row.authorising_rank,
        published_at=row.published_at.isoformat(),
        may_start_at=row.may_start_at.isoformat(),
        notice_hours=row.notice_hours,
        contact=row.contact,
    )


def list_notices(ctx: AppContext, *, include_past: bool = False) -> list[PublicNotice]:
    """Published notices, soonest first: those whose window has not ended (all with
    ``include_past``). Withheld notices are not listed; they are counted in the report."""
    with ctx.store.session() as s:
        query = (
            select(DeploymentNotice, m.Deployment.status)
            .join(m.Deployment, m.Deployment.id == DeploymentNotice.deployment_id)
            .where(DeploymentNotice.published_at.is_not(None))
            .order_by(DeploymentNotice.start_at, DeploymentNotice.id)
        )
        if not include_past:
            query = query.where(DeploymentNotice.end_at > utcnow())
        return [_public(row, status) for row, status in s.execute(query).all()]


def notice_of(ctx: AppContext, deployment_id: int) -> PublicNotice:
    """The published notice of one deployment, or ``RuleViolation("R19")`` saying why none."""
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R19", f"deployment {deployment_id} does not exist")
        row = s.scalar(
            select(DeploymentNotice).where(DeploymentNotice.deployment_id == deployment_id)
        )
        if row is None:
            raise RuleViolation(
                "R19",
                f"deployment {deployment_id} is {dep.status}, not authorised: only an "
                f"authorised deployment has a public notice ({cite('R19')})",
            )
        if row.published_at is None:
            raise RuleViolation(
                "R19",
                f"the notice of deployment {deployment_id} was withheld by the authorising "
                f"officer for a listed reason; it is counted in the period report "
                f"({cite('R19')})",
            )
        return _public(row, dep.status)


def withheld_count(ctx: AppContext, start: datetime, end: datetime) -> int:
    """Notices withheld for deployments whose window starts in [start, end)."""
    with ctx.store.session() as s:
        return int(
            s.scalar(
                select(func.count(DeploymentNotice.id)).where(
                    DeploymentNotice.withheld_reason.is_not(None),
                    DeploymentNotice.start_at >= start,
                    DeploymentNotice.start_at < end,
                )
            )
            or 0
        )


@dataclass(frozen=True)
class NoticePreview:
    """What authorising now would mean for the notice: the authorisation form shows it."""

    notice_hours: float
    goes_up_at: datetime
    may_start_at: datetime
    can_run: bool


def notice_preview(ctx: AppContext, start: datetime, end: datetime) -> NoticePreview:
    now = utcnow()
    hours = ctx.settings.accountability.notice_hours
    may_start = notice_may_start_at(now, start, hours)
    return NoticePreview(hours, now, may_start, may_start < end)
