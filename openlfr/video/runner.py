"""One camera's reader thread and the bounded queue between it and the analysis loop."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Literal

from openlfr.config import VideoSettings
from openlfr.video.protocols import DecodedFrame, DecodingSource, FrameSource
from openlfr.vision.types import Frame

log = logging.getLogger("openlfr.video")

Health = Literal["starting", "connecting", "connected", "reconnecting", "ended"]

# fps_in is counted over this trailing window: long enough to smooth jitter, short enough that a
# stalled camera shows 0 within seconds.
_FPS_WINDOW_S = 2.0
_LIVE_HEALTH: dict[str, Health] = {
    "connecting": "connecting",
    "connected": "connected",
    "reconnecting": "reconnecting",
}


class RateGate:
    """Keeps at most `fps` frames a second by the frames' own timestamps (0: keeps all).

    Media time for a file, capture time for a live source: a paced file and a camera are thinned
    alike, and an unpaced file (read faster than real time) keeps the same frames as a paced one.
    """

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps if fps > 0 else 0.0
        self._next: float | None = None

    def keep(self, timestamp: float) -> bool:
        if self.interval <= 0:
            return True
        due = self._next
        # A small tolerance: 25 fps stamps thinned to 10 fps must not lose a frame to rounding.
        if due is not None and timestamp < due - 1e-6:
            return False
        # Behind by more than a frame (a gap in the stream): restart the grid from this frame.
        late = due is None or timestamp - due >= self.interval
        self._next = timestamp + self.interval if late or due is None else due + self.interval
        return True


@dataclass(frozen=True, slots=True)
class RunnerStats:
    """A consistent snapshot of one camera's counters (take a new one each time you look)."""

    camera_id: str
    frames_read: int
    frames_skipped: int
    frames_dropped: int
    frames_delivered: int
    queued: int
    reconnects: int
    down_s: float
    fps_in: float
    health: Health
    last_error: str | None


class CameraRunner:
    """Reads `source` on its own thread into a queue of `settings.queue_frames` frames.

    A paced source (a camera, a file read in real time) keeps `settings.analysis_fps` frames a
    second; the rest are skipped before the queue, counted in `frames_skipped`. When the queue
    is full it loses its OLDEST queued frame, counted in `frames_dropped`, so analysis never
    lags more than the queue, and while it is full the decoder is asked to skip non-reference
    frames. An unpaced file blocks the reader instead, so every frame is analysed (evidence
    read offline has no real time to keep up with). Iterate it from one consumer
    thread; iteration ends when the source ends or gives up (queued frames are still delivered)
    or at once when stop() is called. An exception in the reader ends iteration and is kept in
    `error` rather than raised.
    """

    def __init__(
        self,
        source: FrameSource,
        settings: VideoSettings,
        *,
        drop_when_behind: bool | None = None,
    ) -> None:
        self.source = source
        self.settings = settings
        self.capacity = settings.queue_frames
        paced = source.live or source.paced
        self.drop_when_behind = paced if drop_when_behind is None else drop_when_behind
        self._gate = RateGate(settings.analysis_fps if paced else 0.0)
        self._skipping_nonref = False
        self.error: BaseException | None = None
        # Pictures wait here unconverted: only the ones delivered are turned into BGR arrays
        # (on the consumer's thread), never those skipped by the gate or dropped when behind.
        self._queue: deque[Frame | DecodedFrame] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._ended = False
        self._thread: threading.Thread | None = None
        self._read = 0
        self._skipped = 0
        self._dropped = 0
        self._delivered = 0
        self._arrivals: deque[float] = deque()
        self._started_at = 0.0

    @property
    def camera_id(self) -> str:
        return self.source.camera_id

    def start(self) -> CameraRunner:
        """Start the reader thread (iterating starts it too); calling it again does nothing."""
        with self._cond:
            if self._thread is None:
                self._started_at = time.monotonic()
                self._thread = threading.Thread(
                    target=self._read_loop, name=f"openlfr-camera-{self.camera_id}", daemon=True
                )
                self._thread.start()
        return self

    def _read_loop(self) -> None:
        source = self.source
        frames = source.decoded() if isinstance(source, DecodingSource) else source.frames()
        try:
            for frame in frames:
                with self._cond:
                    if self._stopping:
                        break
                    now = time.monotonic()
                    self._read += 1
                    self._arrivals.append(now)
                    while self._arrivals and now - self._arrivals[0] > _FPS_WINDOW_S:
                        self._arrivals.popleft()
                    if not self._gate.keep(frame.timestamp):
                        self._skipped += 1
                        continue
                if not self.drop_when_behind and not isinstance(frame, Frame):
                    # Every frame kept here will be delivered: convert it now, on this thread,
                    # beside the analysis of the one before (a dropping runner converts on
                    # delivery instead, so that frames it drops are never converted).
                    frame = frame.to_frame()
                with self._cond:
                    if self._stopping:
                        break
                    full = len(self._queue) >= self.capacity
                    if full != self._skipping_nonref and self.drop_when_behind:
                        self._skipping_nonref = full
                        self.source.skip_nonref(full)
                    if full:
                        if self.drop_when_behind:
                            self._queue.popleft()
                            self._dropped += 1
                        else:
                            while len(self._queue) >= self.capacity and not self._stopping:
                                self._cond.wait()
                            if self._stopping:
                                break
                    self._queue.append(frame)
                    self._cond.notify_all()
        except BaseException as exc:
            self.error = exc
            log.exception("[%s] frame reader failed", self.camera_id)
        finally:
            try:
                # Closing the generator here runs its cleanup (container close) on the thread
                # that owns the container.
                close = getattr(frames, "close", None)  # a generator's, not the source's
                if callable(close):
                    close()
            except Exception as exc:
                log.warning("[%s] closing frames failed: %s", self.camera_id, exc)
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def __iter__(self) -> Iterator[Frame]:
        self.start()
        while True:
            with self._cond:
                while not self._queue and not self._ended and not self._stopping:
                    self._cond.wait()
                if self._stopping or not self._queue:
                    return
                item = self._queue.popleft()
                self._delivered += 1
                # Wakes a file reader blocked on a full queue.
                self._cond.notify_all()
            try:
                frame = item if isinstance(item, Frame) else item.to_frame()
            except Exception as exc:  # as if the reader had failed on it: kept, not raised
                self.error = exc
                log.exception("[%s] frame conversion failed", self.camera_id)
                return
            yield frame

    def stop(self, timeout: float | None = 5.0) -> None:
        """End iteration now, close the source and wait up to `timeout` s for the reader.

        Safe from any thread and more than once. The reader may outlive `timeout` only while
        blocked in a read on a silent stream, which ends within settings.read_timeout_s.
        """
        with self._cond:
            self._stopping = True
            self._queue.clear()
            self._cond.notify_all()
        self.source.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stats(self) -> RunnerStats:
        with self._cond:
            now = time.monotonic()
            recent = sum(1 for t in self._arrivals if now - t <= _FPS_WINDOW_S)
            span = min(_FPS_WINDOW_S, now - self._started_at) if self._started_at else 0.0
            fps = recent / span if span > 0 else 0.0
            ended = self._ended or self._stopping
            read, skipped, dropped, delivered, queued = (
                self._read,
                self._skipped,
                self._dropped,
                self._delivered,
                len(self._queue),
            )
        source_health = _LIVE_HEALTH.get(self.source.health)
        health: Health
        if ended:
            health = "ended"
        elif source_health is not None:
            health = source_health
        else:
            health = "connected" if read else "starting"
        last_error = self.source.error
        if self.error is not None:
            last_error = f"{type(self.error).__name__}: {self.error}"
        return RunnerStats(
            camera_id=self.camera_id,
            frames_read=read,
            frames_skipped=skipped,
            frames_dropped=dropped,
            frames_delivered=delivered,
            queued=queued,
            reconnects=self.source.reconnects,
            down_s=self.source.down_s,
            fps_in=fps,
            health=health,
            last_error=last_error,
        )

    def __enter__(self) -> CameraRunner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
