"""Recording why a subject is sought (reason wanted), in the enrolment's own transaction, and
counting confirmed alerts by the reason on the watchlist entry each came from (issue 13)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.domain.reasons import ReasonWanted
from openlfr.service.context import AppContext
from openlfr.store import AuditAction, append_audit
from openlfr.store.models import Alert, AlertStatus, Deployment, Subject, WatchlistEntry
from openlfr.store.models_accountability import SubjectReason
from openlfr.store.models_governance import WatchlistManifestEntry

__all__ = ["NOT_RECORDED", "outcomes_by_reason", "reasons_of", "record_reason"]


def record_reason(s: Session, actor: str, subject_id: int, reason: ReasonWanted) -> None:
    """Sets the subject's reason wanted in ``s``, audited as collection (first) or alteration;
    nothing when it is already that reason."""
    row = s.scalar(select(SubjectReason).where(SubjectReason.subject_id == subject_id))
    if row is not None and row.reason == reason.value:
        return
    if row is None:
        s.add(SubjectReason(subject_id=subject_id, reason=reason.value, recorded_by=actor))
        action, why = AuditAction.COLLECTION, f"reason wanted recorded: {reason.label}"
    else:
        action, why = (
            AuditAction.ALTERATION,
            f"reason wanted changed from {row.reason} to {reason.value}",
        )
        row.reason, row.recorded_by = reason.value, actor
    s.flush()
    append_audit(
        s,
        actor=actor,
        action=action,
        event="reason_wanted",
        object_type="subject",
        object_id=subject_id,
        justification=why,
    )


def reasons_of(s: Session, subject_ids: set[int]) -> dict[int, str]:
    """{subject id: reason value} for those that have one."""
    if not subject_ids:
        return {}
    rows = s.execute(
        select(SubjectReason.subject_id, SubjectReason.reason).where(
            SubjectReason.subject_id.in_(subject_ids)
        )
    )
    return {sid: reason for sid, reason in rows}


def reasons_by_reference(s: Session, references: set[str]) -> dict[str, str]:
    """{subject reference: reason label} for those that have a reason recorded."""
    if not references:
        return {}
    rows = s.execute(
        select(Subject.reference, SubjectReason.reason)
        .join(SubjectReason, SubjectReason.subject_id == Subject.id)
        .where(Subject.reference.in_(references))
    )
    return {ref: ReasonWanted(reason).label for ref, reason in rows}


#: The row for alerts whose subject has no reason recorded (enrolled before it was asked).
NOT_RECORDED = "not_recorded"


def _entry_reasons(s: Session, watchlist_ids: set[int]) -> dict[tuple[int, int], str]:
    """{(watchlist id, reference image id): reason} as recorded on the entries, live or kept
    in the purge manifest (R16), for entries that recorded one."""
    out: dict[tuple[int, int], str] = {}
    for model in (WatchlistManifestEntry, WatchlistEntry):
        rows = s.execute(
            select(model.watchlist_id, model.reference_image_id, model.reason).where(
                model.watchlist_id.in_(watchlist_ids), model.reason.is_not(None)
            )
        )
        out.update({(wl, img): str(reason) for wl, img, reason in rows})
    return out


def outcomes_by_reason(ctx: AppContext, deployment_ids: list[int]) -> dict[str, dict[str, int]]:
    """{reason wanted: {outcome: confirmed alerts}} over the given deployments. An alert counts
    under the reason recorded on the watchlist entry it came from (the one in force during the
    deployment); an entry compiled before entries recorded one falls back to the subject's
    reason, and an alert with neither counts under ``NOT_RECORDED``."""
    out: dict[str, dict[str, int]] = {}
    if not deployment_ids:
        return out
    with ctx.store.session() as s:
        rows = s.execute(
            select(
                Deployment.watchlist_id,
                Alert.reference_image_id,
                Alert.subject_id,
                Alert.outcome,
                func.count(Alert.id),
            )
            .join(Deployment, Deployment.id == Alert.deployment_id)
            .where(
                Alert.deployment_id.in_(deployment_ids),
                Alert.status == AlertStatus.CONFIRMED.value,
                Alert.outcome.is_not(None),
            )
            .group_by(
                Deployment.watchlist_id, Alert.reference_image_id, Alert.subject_id, Alert.outcome
            )
        ).all()
        on_entry = _entry_reasons(s, {wl for wl, *_ in rows})
        current = reasons_of(s, {subject for _, _, subject, _, _ in rows})
    for wl, image, subject, outcome, n in rows:
        reason = on_entry.get((wl, image)) or current.get(subject) or NOT_RECORDED
        row = out.setdefault(reason, {})
        row[str(outcome)] = row.get(str(outcome), 0) + int(n)
    return out
