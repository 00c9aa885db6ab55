"""Retention (R8-R12): when each kind of record must go, as pure due-date arithmetic.

Nothing here deletes anything: the service layer asks for a ``PurgePlan`` with its own clock
reading and carries it out (and audits each deletion). Keeping the arithmetic pure means a
``--dry-run`` and the real purge cannot disagree about what is due.

R8 (non-matches never stored) has no due date: it is enforced by the pipeline never writing a
non-matching face, not by a purge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from openlfr.domain.eligibility import CaseOutcome
from openlfr.domain.policy import GovernanceSettings


def _require_aware(moment: datetime, what: str) -> None:
    # Due dates are compared across machines and published: a naive time is ambiguous.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def watchlist_purge_due(deployment_end: datetime, policy: GovernanceSettings) -> datetime:
    """R9: when a deployment's watchlist snapshot must be gone (end + 24 h by default)."""
    _require_aware(deployment_end, "deployment_end")
    return deployment_end + timedelta(hours=policy.watchlist_purge_hours)


def alert_purge_due(
    raised_at: datetime, policy: GovernanceSettings, linked_to_outcome: bool
) -> datetime | None:
    """R10: when an alert's data must be gone; None while it is linked to an outcome that needs
    it (then it is evidence in a case and follows that case's retention, not this clock).
    """
    _require_aware(raised_at, "raised_at")
    if linked_to_outcome:
        return None
    return raised_at + timedelta(days=policy.alert_retention_days)


def audit_retention_floor(policy: GovernanceSettings) -> timedelta:
    """R12: how long every audit row is kept at the least. Rows are never edited; this is only
    the age before which no row may be removed by anyone.
    """
    return timedelta(days=policy.audit_retention_days)


#: Deployment statuses that hold their watchlist snapshot until they end (R9). Only an
#: authorised deployment may search a snapshot, so only it keeps one from being purged: a draft,
#: one returned for changes, a refused or a withdrawn one never will search it, and keeping the
#: images for it would hold biometric data for nothing.
HOLDING_STATUSES = frozenset({"authorised", "live", "ended"})


def deployment_holds_watchlist(status: str) -> bool:
    """R9: whether a deployment in ``status`` keeps its watchlist snapshot from being purged."""
    return status.strip().casefold() in HOLDING_STATUSES


@dataclass(frozen=True, slots=True)
class WatchlistRecord:
    """A deployment's watchlist snapshot; ``deployment_end`` None while not yet ended."""

    watchlist_id: str
    deployment_id: str
    deployment_end: datetime | None
    purged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertRecord:
    alert_id: str
    raised_at: datetime
    linked_to_outcome: bool
    purged_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """A reference image with its subject's current case outcome (for R11)."""

    image_id: str
    subject_ref: str
    case_outcome: CaseOutcome
    exception_approved: bool = False
    withdrawn: bool = False


@dataclass(frozen=True, slots=True)
class PurgeItem:
    """One thing due for deletion and when it became due (for the 'deletion achieved' record)."""

    ref: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class PurgePlan:
    watchlists: tuple[PurgeItem, ...]
    alerts: tuple[PurgeItem, ...]
    #: R11: images to take off every future watchlist now and flag for review and deletion.
    images_to_withdraw: tuple[str, ...]
    #: The earliest future due time among records not yet due (when to run again), or None.
    next_due: datetime | None

    @property
    def empty(self) -> bool:
        return not (self.watchlists or self.alerts or self.images_to_withdraw)


def plan_purge(
    *,
    now: datetime,
    policy: GovernanceSettings,
    watchlists: Iterable[WatchlistRecord] = (),
    alerts: Iterable[AlertRecord] = (),
    images: Iterable[ImageRecord] = (),
) -> PurgePlan:
    """What is due for purge at ``now`` (due when ``due_at <= now``), oldest first.

    Already purged records and images already withdrawn are skipped, so running the plan twice
    does nothing the second time.
    """
    _require_aware(now, "now")
    later: list[datetime] = []

    def split(ref: str, due_at: datetime | None, into: list[PurgeItem]) -> None:
        if due_at is None:
            return
        if due_at <= now:
            into.append(PurgeItem(ref, due_at))
        else:
            later.append(due_at)

    due_watchlists: list[PurgeItem] = []
    for wl in watchlists:
        if wl.purged_at is None and wl.deployment_end is not None:
            split(wl.watchlist_id, watchlist_purge_due(wl.deployment_end, policy), due_watchlists)

    due_alerts: list[PurgeItem] = []
    for alert in alerts:
        if alert.purged_at is None:
            split(
                alert.alert_id,
                alert_purge_due(alert.raised_at, policy, alert.linked_to_outcome),
                due_alerts,
            )

    withdraw = sorted(
        image.image_id
        for image in images
        if not image.withdrawn and image.case_outcome.not_convicted and not image.exception_approved
    )

    def order(item: PurgeItem) -> tuple[datetime, str]:
        return item.due_at, item.ref

    return PurgePlan(
        watchlists=tuple(sorted(due_watchlists, key=order)),
        alerts=tuple(sorted(due_alerts, key=order)),
        images_to_withdraw=tuple(withdraw),
        next_due=min(later, default=None),
    )
