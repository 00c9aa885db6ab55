"""Retention carried out (R9, R10, R11) and who was on a past watchlist (R16).

``purge`` asks the pure ``domain.plan_purge`` what is due at ``now`` and then deletes it, one
item per transaction, each deletion audited as an ``erasure`` that cites its rule. One item per
transaction keeps the write lock short (cameras keep writing alerts during a scheduled purge)
and lets a failure stop one item, not the others. ``dry_run`` computes the same plan and writes
nothing at all, not even an audit row.

What is deleted, and what is kept:
- R9 watchlist snapshot, due ``watchlist_purge_hours`` after the end of the last authorised
  deployment that uses it (its actual end when it ran, else its authorised end; a draft, or a
  refused, returned or withdrawn deployment, never searches it and so holds nothing): its
  ``watchlist_entries`` (the links to images and vectors) are deleted and
  ``watchlists.purged_at`` set. The identifiers of
  its members are first copied to ``watchlist_manifest`` (R16).
- R10 alert data, due ``alert_retention_days`` after the alert unless its outcome followed an
  arrest (arrested, charged or cautioned, bailed or released under investigation: evidence in a
  case): the probe crop and its sightings' crops are deleted and ``alerts.purged_at`` set; the
  rows stay for the counts.
- R11 reference images: one whose own case ended in no further action, acquittal or
  discontinuance without an approved exceptional reason is withdrawn (if that was missed) and
  then erased at the next purge - image and embedding emptied, ``erased_at`` set; its source
  and hash stay so that past watchlists and alerts still say which image they meant. Other
  images of a flagged subject stay withdrawn, not erased, until a supervisor reviews them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from openlfr.domain import (
    HOLDING_STATUSES,
    AlertRecord,
    CaseOutcome,
    ImageRecord,
    WatchlistRecord,
    cite,
    parse_outcome,
    plan_purge,
)
from openlfr.service import custody_retention
from openlfr.service.alerts import Outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.watchlist_members import hash_matches, live_members
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.integrity import bind
from openlfr.store.models_governance import WatchlistManifestEntry
from openlfr.store.models_sightings import AlertSighting

#: Alert outcomes that keep the alert's data beyond R10's period: each followed an arrest, so
#: the crop may be evidence. Engaged-no-arrest, no further action, false alerts, not actioned and
#: unadjudicated alerts are purged on time.
KEEP_ALERT_OUTCOMES = frozenset(
    {Outcome.ARRESTED.value, Outcome.CHARGED_OR_CAUTIONED.value, Outcome.BAILED_OR_RUI.value}
)


@dataclass(frozen=True)
class PurgeStep:
    kind: str  # "watchlist" | "alert" | "withdraw image" | "erase image"
    ref: int
    rule: str
    due_at: datetime | None
    action: str
    done: bool = False


@dataclass(frozen=True)
class PurgeReport:
    now: datetime
    dry_run: bool
    steps: tuple[PurgeStep, ...]
    next_due: datetime | None

    def count(self, kind: str) -> int:
        return sum(1 for step in self.steps if step.kind == kind)


def _erasable(outcome: str, approved_by: str | None) -> bool:
    """R11: an image whose own case ended without conviction and has no approved exception."""
    return parse_outcome(outcome).not_convicted and not approved_by


def _watchlist_records(s: Session) -> list[WatchlistRecord]:
    rows = s.execute(
        select(m.Watchlist.id, m.Deployment.id, m.Deployment.ended_at, m.Deployment.end_at)
        .join(m.Deployment, m.Deployment.watchlist_id == m.Watchlist.id)
        .where(m.Watchlist.purged_at.is_(None), m.Deployment.status.in_(sorted(HOLDING_STATUSES)))
        .order_by(m.Watchlist.id, m.Deployment.id)
    ).all()
    latest: dict[int, tuple[datetime, int]] = {}
    for wl_id, dep_id, ended_at, end_at in rows:
        # A watchlist searched by several deployments is kept until the last of them ends.
        end = ended_at or end_at
        if wl_id not in latest or end > latest[wl_id][0]:
            latest[wl_id] = (end, dep_id)
    return [WatchlistRecord(str(w), str(d), end) for w, (end, d) in latest.items()]


def _alert_records(s: Session) -> list[AlertRecord]:
    rows = s.execute(
        select(m.Alert.id, m.Alert.raised_at, m.Alert.outcome).where(m.Alert.purged_at.is_(None))
    ).all()
    return [AlertRecord(str(i), at, outcome in KEEP_ALERT_OUTCOMES) for i, at, outcome in rows]


def _image_rows(s: Session) -> list[tuple[int, str, str, str | None, datetime | None]]:
    # Columns only: the blobs are never read to decide what to delete.
    rows = s.execute(
        select(
            m.ReferenceImage.id,
            m.Subject.reference,
            m.ReferenceImage.case_outcome,
            m.ReferenceImage.exceptional_approved_by,
            m.ReferenceImage.withdrawn_at,
        )
        .join(m.Subject, m.Subject.id == m.ReferenceImage.subject_id)
        .where(m.ReferenceImage.erased_at.is_(None))
        .order_by(m.ReferenceImage.id)
    ).all()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def plan(ctx: AppContext, now: datetime) -> PurgeReport:
    """What a purge at ``now`` would do (reads only)."""
    with ctx.store.session() as s:
        watchlists, alerts = _watchlist_records(s), _alert_records(s)
        images = _image_rows(s)
        counts: dict[int, int] = {
            wl_id: n
            for wl_id, n in s.execute(
                select(m.WatchlistEntry.watchlist_id, func.count())
                .where(m.WatchlistEntry.watchlist_id.in_([int(w.watchlist_id) for w in watchlists]))
                .group_by(m.WatchlistEntry.watchlist_id)
            ).all()
        }
    decided = plan_purge(
        now=now,
        policy=ctx.settings.governance,
        watchlists=watchlists,
        alerts=alerts,
        images=[
            ImageRecord(str(i), ref, parse_outcome(outcome), bool(approved), at is not None)
            for i, ref, outcome, approved, at in images
        ],
    )
    deployment_of = {w.watchlist_id: w.deployment_id for w in watchlists}
    steps = [
        PurgeStep(
            "watchlist",
            int(item.ref),
            "R9",
            item.due_at,
            f"delete {counts.get(int(item.ref), 0)} entries of the snapshot searched by "
            f"deployment {deployment_of[item.ref]}; keep identifiers (R16)",
        )
        for item in decided.watchlists
    ]
    steps += [
        PurgeStep("alert", int(item.ref), "R10", item.due_at, "delete probe crop; keep counts")
        for item in decided.alerts
    ]
    withdrawing = {int(ref) for ref in decided.images_to_withdraw}
    steps += [
        PurgeStep("withdraw image", i, "R11", None, "withdraw from every watchlist; flag subject")
        for i in sorted(withdrawing)
    ]
    steps += [
        PurgeStep("erase image", i, "R11", at or now, "delete image and embedding; keep hash")
        for i, _ref, outcome, approved, at in images
        if (at is not None or i in withdrawing) and _erasable(outcome, approved)
    ]
    custody, custody_next = custody_retention.custody_steps(ctx, now)  # R18 (issue 11)
    steps += [
        PurgeStep(custody_retention.KIND, ref, "R18", due, custody_retention.step_action(n))
        for ref, n, due in custody
    ]
    nexts = [d for d in (decided.next_due, custody_next) if d is not None]
    return PurgeReport(now, True, tuple(steps), min(nexts, default=None))


def purge(
    ctx: AppContext,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    actor: str | None = None,
) -> PurgeReport:
    """Apply retention as at ``now`` (default: the clock); with ``dry_run``, only report."""
    now = now or utcnow()
    planned = plan(ctx, now)
    if dry_run:
        return planned
    who = actor or ctx.actor
    done = []
    for step in planned.steps:
        if step.kind == custody_retention.KIND:  # its own transaction, then the index
            ok = custody_retention.erase_custody_batch(ctx, step, now, who)
        else:
            with ctx.store.session() as s:
                ok = _APPLY[step.kind](s, step, now, who)
        done.append(PurgeStep(step.kind, step.ref, step.rule, step.due_at, step.action, ok))
    return PurgeReport(now, False, tuple(done), planned.next_due)


def _purge_watchlist(s: Session, step: PurgeStep, now: datetime, actor: str) -> bool:
    wl = s.get(m.Watchlist, step.ref)
    if wl is None or wl.purged_at is not None:
        return False
    members = live_members(s, wl.id)
    kept = set(
        s.scalars(
            select(WatchlistManifestEntry.reference_image_id).where(
                WatchlistManifestEntry.watchlist_id == wl.id
            )
        )
    )
    s.add_all(
        WatchlistManifestEntry(watchlist_id=wl.id, recorded_at=now, **asdict(member))
        for member in members
        if member.reference_image_id not in kept
    )
    s.execute(delete(m.WatchlistEntry).where(m.WatchlistEntry.watchlist_id == wl.id))
    wl.purged_at = now
    append_audit(
        s,
        actor=actor,
        action=AuditAction.ERASURE,
        event="watchlist_purged",
        object_type="watchlist",
        object_id=wl.id,
        justification=f"{step.rule} ({cite(step.rule)}): watchlist snapshot purged, due "
        f"{step.due_at:%Y-%m-%d %H:%M} UTC; members kept as identifiers only (R16)",
        detail={
            "rule": step.rule,
            "entries": len(members),
            "due_at": step.due_at.isoformat() if step.due_at else None,
            "member_hash_matches": hash_matches(wl.member_hash, members),
        },
    )
    return True


def _purge_alert(s: Session, step: PurgeStep, now: datetime, actor: str) -> bool:
    alert = s.get(m.Alert, step.ref)
    # Re-checked here: an outcome may have been recorded since the plan was made.
    if alert is None or alert.purged_at is not None or alert.outcome in KEEP_ALERT_OUTCOMES:
        return False
    alert.probe_crop_blob = None
    alert.purged_at = now
    # Issue 12 item 4: each later sighting's crop goes with its alert's (the rows stay, counted).
    erased = s.execute(
        update(AlertSighting)
        .where(AlertSighting.alert_id == alert.id, AlertSighting.crop_blob.is_not(None))
        .values(crop_blob=None)
    )
    crops = int(erased.rowcount or 0)  # type: ignore[attr-defined]
    append_audit(
        s,
        actor=actor,
        action=AuditAction.ERASURE,
        event="alert_data_purged",
        object_type="alert",
        object_id=alert.id,
        justification=f"{step.rule} ({cite(step.rule)}): probe crop of a {alert.status} alert"
        f"{' (outcome ' + alert.outcome + ')' if alert.outcome else ''} deleted after the "
        "retention period; the alert's counts are kept",
        detail={
            "rule": step.rule,
            "due_at": step.due_at.isoformat() if step.due_at else None,
            "sighting_crops": crops,
        },
    )
    return True


def _withdraw_image(s: Session, step: PurgeStep, now: datetime, actor: str) -> bool:
    img = s.get(m.ReferenceImage, step.ref)
    if img is None or img.withdrawn_at is not None:
        return False
    img.withdrawn_at = now
    bind(s, img)  # issue 9 (H3): the withdrawal is part of the image's binding
    subject = s.get(m.Subject, img.subject_id)
    if subject is not None and not subject.flagged_for_review:
        subject.flagged_for_review = True
        subject.flag_reason = f"R11: image {img.id} withdrawn (case outcome {img.case_outcome})"
    append_audit(
        s,
        actor=actor,
        action=AuditAction.ALTERATION,
        event="image_withdrawn",
        object_type="reference_image",
        object_id=img.id,
        justification=f"{step.rule} ({cite(step.rule)}): case outcome "
        f"'{parse_outcome(img.case_outcome).label}' of {img.source_ref}: withdrawn from every "
        "watchlist and flagged for review and deletion",
        detail={"rule": step.rule},
    )
    return True


def _erase_image(s: Session, step: PurgeStep, now: datetime, actor: str) -> bool:
    row = s.execute(
        select(
            m.ReferenceImage.source_ref,
            m.ReferenceImage.case_outcome,
            m.ReferenceImage.exceptional_approved_by,
        ).where(
            m.ReferenceImage.id == step.ref,
            m.ReferenceImage.withdrawn_at.is_not(None),
            m.ReferenceImage.erased_at.is_(None),
        )
    ).first()
    if row is None or not _erasable(row[1], row[2]):
        return False
    s.execute(
        update(m.ReferenceImage)
        .where(m.ReferenceImage.id == step.ref)
        .values(image_blob=b"", embedding_blob=b"", erased_at=now)
    )
    append_audit(
        s,
        actor=actor,
        action=AuditAction.ERASURE,
        event="reference_image_erased",
        object_type="reference_image",
        object_id=step.ref,
        justification=f"{step.rule} ({cite(step.rule)}): case outcome "
        f"'{CaseOutcome(row[1]).label}' of {row[0]}: custody image and its embedding deleted; "
        "source and hash kept",
        detail={"rule": step.rule, "source_ref": row[0]},
    )
    return True


_APPLY = {
    "watchlist": _purge_watchlist,
    "alert": _purge_alert,
    "withdraw image": _withdraw_image,
    "erase image": _erase_image,
}
