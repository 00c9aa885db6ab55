"""An alert's sightings for the operator (issue 12 item 4): when and where the same person was
seen again while the alert waited, each with its own crop, shown like the probe crop.

Listing is an audited consultation (it says where and when a watchlisted person was seen);
each crop viewed is one too, and a purged alert's crops are refused (R10) just as its probe is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.refusals import audits_refusals
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_sightings import AlertSighting


@dataclass(frozen=True)
class SightingView:
    id: int
    alert_id: int
    camera: str
    track_id: int
    frame_index: int
    seen_at: datetime
    score: float
    first: bool  # the sighting that raised the alert (its crop is the probe crop)
    crop_held: bool


@audits_refusals(
    AuditAction.CONSULTATION, "alert", event="consultation_refused", object_id="alert_id"
)
def alert_sightings(ctx: AppContext, alert_id: int, *, justification: str) -> list[SightingView]:
    """The sightings of one alert, first (the one that raised it) to last."""
    with ctx.store.session() as s:
        alert = _alert(s, alert_id)
        rows = s.execute(
            select(AlertSighting, m.Camera.name)
            .join(m.Camera, m.Camera.id == AlertSighting.camera_id)
            .where(AlertSighting.alert_id == alert_id)
            .order_by(AlertSighting.id)
        ).all()
        held = alert.purged_at is None
        views = [
            SightingView(
                r.id,
                alert_id,
                cam,
                r.track_id,
                r.frame_index,
                r.seen_at,
                r.score,
                i == 0,
                held and ((i == 0 and bool(alert.probe_crop_blob)) or bool(r.crop_blob)),
            )
            for i, (r, cam) in enumerate(rows)
        ]
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="alert_sightings_listed",
            object_type="alert",
            object_id=alert_id,
            justification=justification,
            detail={"sightings": len(views)},
        )
        return views


@audits_refusals(
    AuditAction.CONSULTATION, "alert", event="consultation_refused", object_id="alert_id"
)
def sighting_crop(ctx: AppContext, alert_id: int, sighting_id: int, *, justification: str) -> bytes:
    """One sighting's crop (JPEG), an audited consultation; the first sighting's is the alert's
    probe crop."""
    with ctx.store.session() as s:
        alert = _alert(s, alert_id)
        sighting = s.get(AlertSighting, sighting_id)
        if sighting is None or sighting.alert_id != alert_id:
            raise RuleViolation("R13", f"alert {alert_id} has no sighting {sighting_id}")
        if alert.purged_at is not None:
            raise RuleViolation("R10", f"alert {alert_id}: its images have been purged")
        if sighting.crop_blob:
            crop = ctx.store.unseal(sighting, "crop_blob")
        elif alert.probe_crop_blob and _is_first(s, sighting):
            crop = ctx.store.unseal(alert, "probe_crop_blob")
        else:
            raise RuleViolation("R10", f"alert {alert_id}: sighting {sighting_id} holds no image")
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="alert_sighting_viewed",
            object_type="alert_sighting",
            object_id=sighting_id,
            justification=justification,
            detail={"alert_id": alert_id},
        )
        return crop


def _alert(s: Session, alert_id: int) -> m.Alert:
    alert = s.get(m.Alert, alert_id)
    if alert is None:
        raise RuleViolation("R13", f"alert {alert_id} does not exist")
    return alert


def _is_first(s: Session, sighting: AlertSighting) -> bool:
    first = s.scalar(
        select(AlertSighting.id)
        .where(AlertSighting.alert_id == sighting.alert_id)
        .order_by(AlertSighting.id)
        .limit(1)
    )
    return first == sighting.id
