"""ByteTrack from `supervision` as a `Tracker`, so that one person is one track."""

from __future__ import annotations

import numpy as np
import supervision as sv

from openlfr.config import TrackingSettings
from openlfr.tracking.protocols import TrackedFaces
from openlfr.vision.types import FaceDetections


class FaceTracker:
    """ByteTrack (from `supervision`); `fps` is the rate frames are analysed at, which scales
    how long a lost track is kept."""

    def __init__(self, settings: TrackingSettings, fps: float) -> None:
        self._tracker = sv.ByteTrack(
            track_activation_threshold=settings.activation_score,
            lost_track_buffer=settings.lost_track_frames,
            minimum_matching_threshold=settings.match_iou,
            frame_rate=max(1, round(fps)),
        )

    def update(self, dets: FaceDetections) -> TrackedFaces:
        if len(dets) == 0:
            # ByteTrack must still see the empty frame so that lost tracks age.
            self._tracker.update_with_detections(sv.Detections.empty())
            return TrackedFaces(dets, np.zeros(0, np.int64))
        svd = sv.Detections(
            xyxy=dets.boxes.astype(np.float64),
            confidence=dets.scores.astype(np.float64),
            class_id=np.zeros(len(dets), dtype=int),
            data={"row": np.arange(len(dets))},
        )
        out = self._tracker.update_with_detections(svd)
        rows = np.asarray(out.data.get("row", np.zeros(0, int)), dtype=np.int64)
        ids = np.asarray(out.tracker_id if out.tracker_id is not None else [], dtype=np.int64)
        return TrackedFaces(dets.take(rows), ids)
