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
from openlfr.video.protocols import FrameSource
from openlfr.vision.types import Frame

log = logging.getLogger("openlfr.video")

Health = Literal["starting", "connecting", "connected", "reconnecting", "ended"]

# fps_in is counted over this trailing window: long enough to smooth jitter, short enough that a
# stalled camera shows 0 within seconds.
_FPS_WINDOW_S = 2.0


@dataclass(frozen=True, slots=True)
class RunnerStats:
    """A consistent snapshot of one camera's counters (take a new one each time you look)."""

    camera_id: str
    frames_read: int
    frames_dropped: int
    frames_delivered: int
    queued: int
    reconnects: int
    fps_in: float
    health: Health
    last_error: str | None


class CameraRunner:
    """Reads `source` on its own thread into a queue of `settings.queue_frames` frames.

    When the queue is full, a live source (or any source with drop_when_behind=True) loses its
    OLDEST queued frame, counted in `frames_dropped`, so analysis never lags more than the queue;
    a file blocks the reader instead, so every frame is analysed. Iterate it from one consumer
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
        self.drop_when_behind = source.live if drop_when_behind is None else drop_when_behind
        self.error: BaseException | None = None
        self._queue: deque[Frame] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._ended = False
        self._thread: threading.Thread | None = None
        self._read = 0
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
        frames = self.source.frames()
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
                    if len(self._queue) >= self.capacity:
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
                close = getattr(frames, "close", None)
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
                frame = self._queue.popleft()
                self._delivered += 1
                # Wakes a file reader blocked on a full queue.
                self._cond.notify_all()
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
            read, dropped, delivered, queued = (
                self._read,
                self._dropped,
                self._delivered,
                len(self._queue),
            )
        source_health = getattr(self.source, "health", None)
        health: Health
        if ended:
            health = "ended"
        elif source_health in ("connecting", "connected", "reconnecting"):
            health = source_health
        else:
            health = "connected" if read else "starting"
        last_error = getattr(self.source, "error", None)
        if self.error is not None:
            last_error = f"{type(self.error).__name__}: {self.error}"
        return RunnerStats(
            camera_id=self.camera_id,
            frames_read=read,
            frames_dropped=dropped,
            frames_delivered=delivered,
            queued=queued,
            reconnects=int(getattr(self.source, "reconnects", 0)),
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
