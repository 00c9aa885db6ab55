"""The human in the loop: listing, viewing, adjudicating alerts and recording outcomes (R13).

The system never acts on an alert by itself: these functions only record what a person decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext, utcnow
from openlfr.service.refusals import audits_refusals
from openlfr.store import AlertStatus, AuditAction, append_audit
from openlfr.store import models as m


class Outcome(StrEnum):
    """What happened after a confirmed match, as a force publishes it."""

    ENGAGED_NO_ARREST = "engaged_no_arrest"
    ARRESTED = "arrested"
    CHARGED_OR_CAUTIONED = "charged_or_cautioned"
    BAILED_OR_RUI = "bailed_or_released_under_investigation"
    NO_FURTHER_ACTION = "no_further_action"


ADJUDICATIONS = (AlertStatus.CONFIRMED, AlertStatus.FALSE_ALERT, AlertStatus.NOT_ACTIONED)


@dataclass(frozen=True)
class AlertView:
    id: int
    deployment_id: int
    camera: str
    subject_ref: str
    category: str
    score: float
    margin: float
    track_id: int
    first_frame: int
    last_frame: int
    raised_at: datetime
    status: str
    outcome: str | None


def list_alerts(
    ctx: AppContext,
    *,
    deployment_id: int | None = None,
    status: str | None = None,
    justification: str = "alert review",
) -> list[AlertView]:
    with ctx.store.session() as s:
        q = (
            select(m.Alert, m.Camera.name, m.Subject.reference, m.Subject.category)
            .join(m.Camera, m.Camera.id == m.Alert.camera_id)
            .join(m.Subject, m.Subject.id == m.Alert.subject_id)
            .order_by(m.Alert.id)
        )
        if deployment_id is not None:
            q = q.where(m.Alert.deployment_id == deployment_id)
        if status is not None:
            q = q.where(m.Alert.status == status)
        views = [
            AlertView(
                a.id,
                a.deployment_id,
                cam,
                ref,
                cat,
                a.score,
                a.margin,
                a.track_id,
                a.first_frame,
                a.last_frame,
                a.raised_at,
                a.status,
                a.outcome,
            )
            for a, cam, ref, cat in s.execute(q).all()
        ]
        if views:
            append_audit(
                s,
                actor=ctx.actor,
                action=AuditAction.CONSULTATION,
                object_type="alert",
                object_id=",".join(str(v.id) for v in views[:50]),
                justification=justification,
                detail={"count": len(views)},
            )
        return views


@audits_refusals(
    AuditAction.CONSULTATION, "alert", event="consultation_refused", object_id="alert_id"
)
def alert_images(ctx: AppContext, alert_id: int, *, justification: str) -> tuple[bytes, bytes]:
    """(probe crop JPEG, reference image JPEG) for side-by-side review; an audited consultation."""
    with ctx.store.session() as s:
        alert = _get(s, alert_id)
        ref = s.get(m.ReferenceImage, alert.reference_image_id)
        if ref is None or not alert.probe_crop_blob:
            raise RuleViolation("R10", f"alert {alert_id}: its images have been purged")
        if not ref.image_blob:  # erased under R11 after its case ended without conviction
            raise RuleViolation("R11", f"alert {alert_id}: its reference image has been erased")
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            object_type="alert",
            object_id=alert_id,
            justification=justification,
        )
        return ctx.store.unseal(alert, "probe_crop_blob"), ctx.store.unseal(ref, "image_blob")


@audits_refusals(AuditAction.ALTERATION, "alert", event="alteration_refused", object_id="alert_id")
def adjudicate(ctx: AppContext, alert_id: int, decision: str, reason: str) -> None:
    try:
        status = AlertStatus(decision)
    except ValueError:
        status = None
    if status not in ADJUDICATIONS:
        allowed = ", ".join(a.value for a in ADJUDICATIONS)
        raise RuleViolation("R13", f"decision must be one of: {allowed}")
    if not reason.strip():
        raise RuleViolation("R13", "an adjudication needs a reason")
    with ctx.store.session() as s:
        alert = _get(s, alert_id)
        if alert.status != AlertStatus.PENDING.value:
            raise RuleViolation("R13", f"alert {alert_id} was already adjudicated ({alert.status})")
        alert.status = status.value
        alert.adjudicated_by, alert.adjudicated_at, alert.adjudication_reason = (
            ctx.actor,
            utcnow(),
            reason,
        )
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            object_type="alert",
            object_id=alert_id,
            justification=f"adjudicated {decision}: {reason}",
        )


@audits_refusals(AuditAction.ALTERATION, "alert", event="alteration_refused", object_id="alert_id")
def record_outcome(ctx: AppContext, alert_id: int, outcome: str, reason: str = "") -> None:
    try:
        value = Outcome(outcome)
    except ValueError:
        allowed = ", ".join(o.value for o in Outcome)
        raise RuleViolation("R13", f"outcome must be one of: {allowed}") from None
    with ctx.store.session() as s:
        alert = _get(s, alert_id)
        if alert.status != AlertStatus.CONFIRMED.value:
            raise RuleViolation(
                "R13", f"alert {alert_id} is {alert.status}: an outcome follows a confirmed match"
            )
        alert.outcome, alert.outcome_by, alert.outcome_at = value.value, ctx.actor, utcnow()
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            object_type="alert",
            object_id=alert_id,
            justification=f"outcome recorded: {value.value}" + (f" ({reason})" if reason else ""),
        )


def _get(s: object, alert_id: int) -> m.Alert:
    alert = s.get(m.Alert, alert_id)  # type: ignore[attr-defined]
    if alert is None:
        raise RuleViolation("R13", f"alert {alert_id} does not exist")
    return alert
