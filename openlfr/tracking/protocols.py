"""What the pipeline needs of a face tracker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from openlfr.vision.types import FaceDetections


@dataclass(frozen=True, slots=True)
class TrackedFaces:
    """The detections that belong to a track this frame, with their track ids (N,) int64."""

    detections: FaceDetections
    track_ids: np.ndarray


@runtime_checkable
class Tracker(Protocol):
    """Gives each face a track id that stays with one person from frame to frame. It must see
    every analysed frame, empty ones too, so that lost tracks age."""

    def update(self, dets: FaceDetections) -> TrackedFaces: ...
