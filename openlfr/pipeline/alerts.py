"""What the pipeline hands on when a track matches: an Alert, to an AlertSink; and when the
frame that raised it was captured (`CaptureTimes`), for the face-to-alert latency."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from openlfr.vision.types import Frame


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


class CaptureTimes:
    """When each recent frame of one camera was captured, as UTC epoch seconds, by frame index.

    `Frame.timestamp` cannot carry this for every source: a file's frames are stamped with
    media time (for tracking and pacing), which says nothing about when the system saw them. So
    the moment a frame leaves its source (before the runner's queue, so time spent queued
    counts) is noted here: a live frame's own stamp (taken at decode), or the wall clock when a
    file's frame was decoded. Only the last `keep` frames are held: an alert is raised for the
    frame being analysed, which is never more than the runner's queue behind the source.
    """

    def __init__(self, keep: int = 4096) -> None:
        self._keep = keep
        self._times: dict[int, float] = {}
        self._order: deque[int] = deque()
        self._lock = threading.Lock()

    def note(self, frame: Frame, *, live: bool) -> None:
        at = frame.timestamp if live else time.time()
        with self._lock:
            if frame.index not in self._times:
                self._order.append(frame.index)
            self._times[frame.index] = at
            while len(self._order) > self._keep:
                self._times.pop(self._order.popleft(), None)

    def of(self, frame_index: int) -> float | None:
        with self._lock:
            return self._times.get(frame_index)

    def wrap(self, source: _Source) -> StampedSource:
        return StampedSource(source, self)


class _Source(Protocol):
    camera_id: str
    live: bool

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class StampedSource:
    """A frame source that notes each frame's capture time in a `CaptureTimes` as it yields
    it; everything else (health, errors, reconnects) is the wrapped source's."""

    def __init__(self, source: _Source, times: CaptureTimes) -> None:
        self.source, self.times = source, times
        self.camera_id, self.live = source.camera_id, source.live

    def frames(self) -> Iterator[Frame]:
        frames = self.source.frames()
        try:
            for frame in frames:
                self.times.note(frame, live=self.live)
                yield frame
        finally:
            # Closing the inner generator here keeps its cleanup on the reader thread.
            close = getattr(frames, "close", None)
            if callable(close):
                close()

    def close(self) -> None:
        self.source.close()

    def __getattr__(self, name: str) -> Any:  # health, error, reconnects, fps
        return getattr(self.source, name)
