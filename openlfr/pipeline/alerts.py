"""What the pipeline hands on when a track matches: an Alert, to an AlertSink."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


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
    def raise_alert(self, alert: Alert) -> None: ...


class ListSink:
    """Keeps alerts in a list (evaluation and tests)."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def raise_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
