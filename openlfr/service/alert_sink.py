"""Alerts sealed into the store: probe crop encrypted, collection audited, in one transaction.

Grouping (issue 12 item 4): the same watchlist subject seen again on the same deployment, while
its alert is still pending and within ``settings.grouping.window_s`` of that alert's latest
sighting, joins that alert as a new sighting (its own sealed crop, camera, time, score) instead
of raising a new alert. The decision is taken from the database, not from this sink's memory:
the cameras of one deployment may run on other nodes. The deployment's row is write-locked
first (a no-op UPDATE: a row lock on PostgreSQL, the single writer's lock on SQLite), so two
cameras seeing the same person at once make one alert with two sightings, never two alerts.

An alert that cannot be written (``StoreFull``) is not kept in memory to retry: an alert no
operator can see cannot be adjudicated (R13), and a camera that goes on searching faces while
nothing it collects can be logged (R12) processes outside the law's record. So the failure is
logged naming the alert (track, frame, score; never the subject), and raised; the camera ends
with "store full: ..." as its end reason, and its counters are saved (an in-place update that
a full store still takes).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import cv2
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from openlfr.domain.grouping import OpenAlert, joins_open_alert
from openlfr.errors import StoreFull
from openlfr.pipeline.alerts import Alert, CaptureTimes
from openlfr.service.context import AppContext, utcnow
from openlfr.service.watchlists import GalleryEntry
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_sightings import AlertSighting

log = logging.getLogger(__name__)


class StoreAlertSink:
    """Seals each alert (probe crop encrypted) into the store and audits the collection; a
    repeat sighting of a pending alert's subject is added to that alert instead."""

    def __init__(
        self,
        ctx: AppContext,
        deployment_id: int,
        camera_db_id: int,
        entries: list[GalleryEntry],
        captured: CaptureTimes | None = None,
    ) -> None:
        self._ctx, self._dep, self._cam, self._entries = ctx, deployment_id, camera_db_id, entries
        self._captured = captured
        # Track id -> the alert it raised (to close last_frame); only tracks that raised one.
        self.alert_ids: dict[int, int] = {}
        # Track id -> the alert it was added to as a later sighting.
        self.sighting_of: dict[int, int] = {}

    def raise_alert(self, alert: Alert) -> None:
        """Stores the alert, or raises ``StoreFull`` saying which alert was not stored: the
        camera then ends with that reason (see the module's docstring)."""
        try:
            self._store(alert)
        except StoreFull as exc:
            lost = (
                f"{exc}; alert on track {alert.track_id} (frame {alert.frame_index}, score "
                f"{alert.score:.3f}) not stored"
            )
            log.error("deployment %s camera %s: %s", self._dep, self._cam, lost)
            raise StoreFull(lost) from exc

    def _store(self, alert: Alert) -> None:
        entry = self._entries[alert.label]
        ok, jpeg = cv2.imencode(".jpg", alert.probe_crop, [cv2.IMWRITE_JPEG_QUALITY, 90])
        crop = jpeg.tobytes() if ok else b""
        at = self._captured.of(alert.frame_index) if self._captured else None
        frame_at = datetime.fromtimestamp(at, UTC) if at is not None else None
        seen_at = frame_at or utcnow()
        window_s = self._ctx.settings.grouping.window_s
        with self._ctx.store.session() as s:
            # Serialise this deployment's alert writes before reading which alert is open.
            s.execute(
                update(m.Deployment).where(m.Deployment.id == self._dep).values(id=m.Deployment.id)
            )
            open_row = _latest_alert(s, self._dep, entry.subject_id)
            candidate = None
            if open_row is not None:
                candidate = OpenAlert(
                    open_row[0].status, open_row[1], purged=open_row[0].purged_at is not None
                )
            if joins_open_alert(candidate, seen_at, window_s):
                assert open_row is not None
                self._add_sighting(s, open_row[0], alert, seen_at, crop, entry.subject_ref)
                return
            row = m.Alert(
                deployment_id=self._dep,
                camera_id=self._cam,
                track_id=alert.track_id,
                subject_id=entry.subject_id,
                reference_image_id=entry.reference_image_id,
                score=alert.score,
                margin=min(alert.margin, 2.0),  # "no runner-up" stored as the largest margin
                first_frame=alert.first_frame,
                last_frame=alert.frame_index,
                frame_at=frame_at,
            )
            self._ctx.store.seal(s, row, probe_crop_blob=crop)
            # The first sighting's crop is the alert's probe crop: not stored twice.
            s.add(_sighting(row.id, self._cam, alert, seen_at))
            append_audit(
                s,
                actor="system",
                action=AuditAction.COLLECTION,
                event="alert_raised",
                object_type="alert",
                object_id=row.id,
                justification=f"match against watchlist subject {entry.subject_ref} at "
                f"score {alert.score:.3f} in deployment {self._dep}",
            )
            self.alert_ids[alert.track_id] = row.id

    def _add_sighting(
        self, s: Session, row: m.Alert, alert: Alert, seen_at: datetime, crop: bytes, ref: str
    ) -> None:
        sighting = _sighting(row.id, self._cam, alert, seen_at)
        self._ctx.store.seal(s, sighting, crop_blob=crop)
        # The alert row itself is not changed: its score and crop are what raised it, and its
        # latest-seen time is read from its sightings (one source of truth across cameras).
        append_audit(
            s,
            actor="system",
            action=AuditAction.COLLECTION,
            event="alert_sighting_added",
            object_type="alert_sighting",
            object_id=sighting.id,
            justification=f"watchlist subject {ref} seen again at score {alert.score:.3f} "
            f"in deployment {self._dep}: added to pending alert {row.id}",
            detail={"alert_id": row.id, "camera_id": self._cam},
        )
        self.sighting_of[alert.track_id] = row.id


def _sighting(alert_id: int, camera_id: int, alert: Alert, seen_at: datetime) -> AlertSighting:
    return AlertSighting(
        alert_id=alert_id,
        camera_id=camera_id,
        track_id=alert.track_id,
        frame_index=alert.frame_index,
        seen_at=seen_at,
        score=alert.score,
        crop_blob=None,
    )


def _latest_alert(s: Session, dep: int, subject_id: int) -> tuple[m.Alert, datetime] | None:
    """The newest alert on ``dep`` for ``subject_id`` and its latest sighting's time."""
    row = s.scalar(
        select(m.Alert)
        .where(m.Alert.deployment_id == dep, m.Alert.subject_id == subject_id)
        .order_by(m.Alert.id.desc())
        .limit(1)
    )
    if row is None:
        return None
    last = s.scalar(select(func.max(AlertSighting.seen_at)).where(AlertSighting.alert_id == row.id))
    # An alert stored before sightings existed (migration 0013) has none: its own time stands.
    return row, last or row.frame_at or row.raised_at
