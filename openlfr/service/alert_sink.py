"""Alerts sealed into the store: probe crop encrypted, collection audited, in one transaction.

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

from openlfr.errors import StoreFull
from openlfr.pipeline.alerts import Alert, CaptureTimes
from openlfr.service.context import AppContext
from openlfr.service.watchlists import GalleryEntry
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m

log = logging.getLogger(__name__)


class StoreAlertSink:
    """Seals each alert (probe crop encrypted) into the store and audits the collection."""

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
        self.alert_ids: dict[int, int] = {}  # track id -> last alert id (to close last_frame)

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
        at = self._captured.of(alert.frame_index) if self._captured else None
        with self._ctx.store.session() as s:
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
                frame_at=datetime.fromtimestamp(at, UTC) if at is not None else None,
            )
            self._ctx.store.seal(s, row, probe_crop_blob=jpeg.tobytes() if ok else b"")
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
