"""What the live feed reads, and the audit of what it pushes: alerts above the last id seen,
decisions since the last poll, the live cameras' counters.

Alerts reach operators by polling the alerts table, not by a hook in the runner: a deployment
run by a separate `openlfr deployment run` process (or another machine on the same PostgreSQL)
is then picked up exactly like one run in the service's own process.

A later sighting of a pending alert (issue 12 item 4) is not a new alert: ``new_sightings``
reads sightings above the last id seen and hands each on as an update of the alert it joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from openlfr.service.context import utcnow
from openlfr.store import AlertStatus, AuditAction, DeploymentStatus, Store
from openlfr.store import models as m
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.models_sightings import AlertSighting


@dataclass(frozen=True)
class NewAlerts:
    """Alerts for the queue, with what the service's metrics need of each."""

    payloads: list[dict[str, Any]]
    delays_s: list[float]  # raised -> pushed
    face_to_alert_s: list[float]  # frame captured -> raised (where the capture time is known)
    pending: int


@dataclass(frozen=True)
class CounterRow:
    counter_id: int
    deployment_id: int
    deployment: str
    camera: str
    frames: int
    dropped: int
    faces: int


def alert_payload(a: m.Alert, camera: str, ref: str, category: str, dep: str) -> dict[str, Any]:
    """What an operator's queue shows of an alert; the images are fetched apart (audited)."""
    return {
        "id": a.id,
        "deployment_id": a.deployment_id,
        "deployment": dep,
        "camera": camera,
        "subject_ref": ref,
        "category": category,
        "score": round(a.score, 4),
        "raised_at": a.raised_at.isoformat(),
        "status": a.status,
        "outcome": a.outcome,
    }


def alerts_query() -> Any:
    return (
        select(m.Alert, m.Camera.name, m.Subject.reference, m.Subject.category, m.Deployment.name)
        .join(m.Camera, m.Camera.id == m.Alert.camera_id)
        .join(m.Subject, m.Subject.id == m.Alert.subject_id)
        .join(m.Deployment, m.Deployment.id == m.Alert.deployment_id)
        .order_by(m.Alert.id)
    )


def last_alert_id(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.max(m.Alert.id))) or 0)


def new_alerts(store: Store, after_id: int, users: list[str], limit: int = 200) -> NewAlerts:
    """Alerts above `after_id`; pushing them shows a watchlist reference to each connected
    operator, so each push is an audited consultation, in the same transaction as the read."""
    with store.session() as s:
        rows = s.execute(alerts_query().where(m.Alert.id > after_id).limit(limit)).all()
        payloads = [alert_payload(*row) for row in rows]
        counts = _sighting_counts(s, [p["id"] for p in payloads])
        for p in payloads:
            p["sightings"] = counts.get(p["id"], 1)
        now = utcnow()
        delays = [max(0.0, (now - a.raised_at).total_seconds()) for a, *_ in rows]
        faces = [
            max(0.0, (a.raised_at - a.frame_at).total_seconds())
            for a, *_ in rows
            if a.frame_at is not None  # None: raised before capture times were stored
        ]
        if payloads and users:
            # One chained batch for every operator (not an append each): with many operators
            # connected the feed's poll would otherwise spend its time audit-appending.
            drafts = [
                AuditDraft(
                    AuditAction.CONSULTATION,
                    "alert_pushed",
                    "alert",
                    ids,
                    "live alert queue on the operator page",
                    actor=user,
                )
                for ids in id_lists([p["id"] for p in payloads])
                for user in users
            ]
            append_audit_many(s, actor=users[0], drafts=drafts)
        pending = s.scalar(
            select(func.count(m.Alert.id)).where(m.Alert.status == AlertStatus.PENDING.value)
        )
        return NewAlerts(payloads, delays, faces, int(pending or 0))


def id_lists(ids: list[int], width: int = 128) -> list[str]:
    """``ids`` comma-joined in as many pieces as the audit's object id column (``width``) needs:
    every pushed alert is named, none cut off."""
    out, cur = [], ""
    for i in map(str, ids):
        if cur and len(cur) + 1 + len(i) > width:
            out.append(cur)
            cur = ""
        cur = f"{cur},{i}" if cur else i
    return [*out, cur] if cur else out


def _sighting_counts(s: Any, alert_ids: list[int]) -> dict[int, int]:
    if not alert_ids:
        return {}
    rows = s.execute(
        select(AlertSighting.alert_id, func.count(AlertSighting.id))
        .where(AlertSighting.alert_id.in_(alert_ids))
        .group_by(AlertSighting.alert_id)
    ).all()
    return {int(a): int(n) for a, n in rows}


def last_sighting_id(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.max(AlertSighting.id))) or 0)


def new_sightings(
    store: Store, after_id: int, limit: int = 500
) -> tuple[list[dict[str, Any]], int]:
    """Later sightings stored above ``after_id``, each as an update of the alert it joined
    (its id, its sightings so far, this sighting's camera, time and score); and the new last id.

    An alert's first sighting is left out: it went out with the alert itself. Nothing here names
    the subject or carries an image (those go out, audited, with the alert and on request), so
    this push, like ``decisions_since``, is not itself a consultation.
    """
    with store.session() as s:
        rows = s.execute(
            select(AlertSighting, m.Camera.name)
            .join(m.Camera, m.Camera.id == AlertSighting.camera_id)
            .where(AlertSighting.id > after_id)
            .order_by(AlertSighting.id)
            .limit(limit)
        ).all()
        if not rows:
            return [], after_id
        alert_ids = sorted({r.alert_id for r, _ in rows})
        firsts = dict(
            s.execute(
                select(AlertSighting.alert_id, func.min(AlertSighting.id))
                .where(AlertSighting.alert_id.in_(alert_ids))
                .group_by(AlertSighting.alert_id)
            ).all()
        )
        counts = _sighting_counts(s, alert_ids)
        out = [
            {
                "id": r.alert_id,
                "sighting_id": r.id,
                "sightings": counts.get(r.alert_id, 1),
                "camera": cam,
                "seen_at": r.seen_at.isoformat(),
                "score": round(r.score, 4),
            }
            for r, cam in rows
            if firsts.get(r.alert_id) != r.id
        ]
        return out, rows[-1][0].id


def decisions_since(store: Store, since: datetime) -> tuple[list[dict[str, Any]], datetime]:
    """Alerts adjudicated or given an outcome after `since`: ids, states and who decided; no
    reference or image (those went out, audited, with the alert itself). And the new `since`."""
    latest = since
    with store.session() as s:
        rows = list(
            s.scalars(
                select(m.Alert)
                .where((m.Alert.adjudicated_at > since) | (m.Alert.outcome_at > since))
                .order_by(m.Alert.id)
                .limit(500)
            )
        )
        out = []
        for a in rows:
            stamps = [t for t in (a.adjudicated_at, a.outcome_at) if t is not None]
            latest = max([latest, *stamps])
            by = a.outcome_by if a.outcome_at and a.outcome_at > since else a.adjudicated_by
            out.append({"id": a.id, "status": a.status, "outcome": a.outcome, "by": by})
    return out, latest


def live_counters(store: Store) -> list[CounterRow]:
    """The open counters of every live deployment's cameras."""
    with store.session() as s:
        rows = s.execute(
            select(m.DeploymentCounter, m.Camera.name, m.Deployment.name)
            .join(m.Camera, m.Camera.id == m.DeploymentCounter.camera_id)
            .join(m.Deployment, m.Deployment.id == m.DeploymentCounter.deployment_id)
            .where(
                m.Deployment.status == DeploymentStatus.LIVE.value,
                m.DeploymentCounter.ended_at.is_(None),
            )
            .order_by(m.DeploymentCounter.id)
        ).all()
        return [
            CounterRow(c.id, c.deployment_id, dep, camera, c.frames, c.frames_dropped, c.faces)
            for c, camera, dep in rows
        ]
