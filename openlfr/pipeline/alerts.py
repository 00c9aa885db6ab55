"""What the pipeline hands on when a track matches: an Alert, to an AlertSink. (When the frame
that raised it was captured is `video.stamp.CaptureTimes`, re-exported here.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from openlfr.video.stamp import CaptureTimes, StampedSource

__all__ = ["Alert", "AlertSink", "CaptureTimes", "ListSink", "StampedSource"]


@dataclass(frozen=True, slots=True)
class Alert:
    """A track whose fused embedding cleared the threshold against one watchlist label.

    `probe_crop` is the face (with some context) from the track's best view, BGR uint8: the
    only image of a member of the public the system ever hands on, and only on a match.
    """

    camera_id: str
    track_id: int
    label: int
    score: float
    margin: float
    runner_up: int
    first_frame: int
    frame_index: int
    timestamp: float
    views: int
    probe_crop: np.ndarray


@runtime_checkable
class AlertSink(Protocol):
    """Where alerts go (the store, in a deployment). A sink that cannot keep an alert raises;
    the camera then ends, with the exception's message as its end reason."""

    def raise_alert(self, alert: Alert) -> None: ...


class ListSink:
    """Keeps alerts in a list (evaluation and tests)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def raise_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
