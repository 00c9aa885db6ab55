"""Capture-time stamps: when each recent frame of one camera left its source, for the
face-to-alert latency.

`Frame.timestamp` cannot carry this for every source: a file's frames are stamped with media
time (for tracking, pacing and the analysis rate), which says nothing about when the system saw
them. So the moment a frame leaves its source (before the runner's queue, so time spent queued
counts) is noted in a `CaptureTimes`: a live frame's own stamp (taken at decode), or the wall
clock when a file's frame was decoded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator

from openlfr.video.protocols import DecodedFrame, DecodingSource, FrameSource
from openlfr.vision.types import Frame


class CaptureTimes:
    """UTC epoch seconds by frame index for one camera's last `keep` frames: an alert is raised
    for the frame being analysed, which is never more than the runner's queue behind."""

    def __init__(self, keep: int = 4096) -> None:
        self._keep = keep
        self._times: dict[int, float] = {}
        self._order: deque[int] = deque()
        self._lock = threading.Lock()

    def note(self, frame: Frame | DecodedFrame, *, live: bool) -> None:
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

    def wrap(self, source: FrameSource) -> StampedSource:
        return StampedSource(source, self)


class StampedSource:
    """A frame source that notes each frame's capture time in a `CaptureTimes` as it yields it;
    everything else (rate, health, errors, reconnects) is the wrapped source's."""

    def __init__(self, source: FrameSource, times: CaptureTimes) -> None:
        self.source, self.times = source, times
        self.camera_id, self.live, self.paced = source.camera_id, source.live, source.paced

    @property
    def fps(self) -> float | None:
        return self.source.fps

    @property
    def health(self) -> str:
        return self.source.health

    @property
    def error(self) -> str | None:
        return self.source.error

    @property
    def reconnects(self) -> int:
        return self.source.reconnects

    @property
    def down_s(self) -> float:
        return self.source.down_s

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

    def decoded(self) -> Iterator[Frame | DecodedFrame]:
        """The wrapped source's pictures before conversion where it offers them, else its
        frames; stamped alike, as they leave the source."""
        inner = self.source
        pictures = inner.decoded() if isinstance(inner, DecodingSource) else inner.frames()
        try:
            for picture in pictures:
                self.times.note(picture, live=self.live)
                yield picture
        finally:
            close = getattr(pictures, "close", None)
            if callable(close):
                close()

    def skip_nonref(self, on: bool) -> None:
        self.source.skip_nonref(on)

    def close(self) -> None:
        self.source.close()
