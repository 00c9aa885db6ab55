"""Live frame sources (network streams, local cameras) that reconnect with back-off (PyAV)."""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import av
from av.container import InputContainer
from av.video.reformatter import VideoReformatter

from openlfr.config import VideoSettings
from openlfr.video._decode import (
    AV_ERRORS,
    OPEN_ERRORS,
    Decoded,
    as_frames,
    describe,
    open_input,
    redact,
    set_skip_nonref,
)
from openlfr.vision.types import Frame

log = logging.getLogger("openlfr.video")

EventCallback = Callable[[str, str], None]
"""Called as on_event(kind, message) from the decoding thread. Kinds: connected, open_failed,
disconnected, reconnected, retrying, gave_up, closed. It must return quickly and not raise."""


class _NoPictures(Exception):
    """Packets arrive but none decodes to a picture: the stream is broken though not silent."""


def backoff_delay(
    failures: int, initial_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait after the `failures`-th consecutive failure (1-based).

    Doubles from initial_s up to max_s; +/-20 % jitter so that many cameras behind one failed
    switch do not all hammer it again in the same instant.
    """
    base = min(max_s, initial_s * 2.0 ** min(failures - 1, 60))
    jitter = (rng or random).uniform(0.8, 1.2)
    return min(max_s, base * jitter)


class LiveSource:
    """What StreamSource and DeviceSource share: open, decode, and on failure wait and reopen.

    Frames are stamped with UTC epoch seconds at decode. `frames()` only ends when `close()` is
    called or when `reconnect_attempts` (> 0) consecutive reconnections have failed; then `error`
    says why. `health` is "connecting", "connected", "reconnecting" or "ended"; `reconnects`
    counts reconnections that succeeded; `down_s` is how long the source has been down: from
    each failure (a refused open or a broken stream) until the next decoded picture.
    """

    live = True
    paced = True

    def __init__(
        self,
        target: str,
        camera_id: str,
        settings: VideoSettings,
        *,
        format: str | None = None,
        options: dict[str, str] | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.target = target
        self.camera_id = camera_id
        self.settings = settings
        self.format = format
        self.options = dict(options or {})
        self.on_event = on_event
        self.error: str | None = None
        self.health = "connecting"
        self.reconnects = 0
        self.frames_decoded = 0
        self._down_total = 0.0
        self._down_since: float | None = None  # monotonic time of the failure, while down
        self._down_lock = threading.Lock()
        self.fps: float | None = None  # known once connected: the stream's declared rate
        self._skip_nonref = False
        self._rng = rng or random.Random()
        self._stop = threading.Event()

    @property
    def down_s(self) -> float:
        """Seconds down so far, counting the outage in progress (read from any thread)."""
        with self._down_lock:
            since = self._down_since
            return self._down_total + (time.monotonic() - since if since is not None else 0.0)

    def _went_down(self) -> None:
        with self._down_lock:
            if self._down_since is None:
                self._down_since = time.monotonic()

    def _came_up(self) -> None:
        # Up means a picture arrived, not a socket accepted: a server that accepts and at once
        # drops is still down for whoever watches the camera.
        with self._down_lock:
            if self._down_since is not None:
                self._down_total += time.monotonic() - self._down_since
                self._down_since = None

    @property
    def name(self) -> str:
        """The target as it may be shown: credentials removed."""
        return redact(self.target)

    def _event(self, kind: str, message: str, level: int = logging.WARNING) -> None:
        log.log(level, "[%s] %s: %s", self.camera_id, kind, message)
        if self.on_event is not None:
            try:
                self.on_event(kind, message)
            except Exception:
                # A faulty observer must not take the camera down with it.
                log.exception("[%s] on_event callback failed", self.camera_id)

    def frames(self) -> Generator[Frame, None, None]:
        return as_frames(self.decoded())

    def decoded(self) -> Generator[Decoded, None, None]:
        """The pictures as decoded (stamped at decode), each converted only if asked."""
        reformatter = VideoReformatter()
        index = 0
        failures = 0
        connected_before = False
        try:
            while not self._stop.is_set():
                try:
                    container, stream = open_input(
                        self.target,
                        format=self.format,
                        options=self.options,
                        timeout=(self.settings.open_timeout_s, self.settings.read_timeout_s),
                        # One decoding thread per camera: frame threading would hold back a
                        # frame per thread (latency) and, with many cameras on few cores, spend
                        # ~20 % more CPU per frame for speed no single camera needs.
                        thread_type="SLICE",
                        thread_count=1,
                        # A network stream's packets need not end where pictures do.
                        chunks=True,
                    )
                except OPEN_ERRORS as exc:
                    failures += 1
                    why = self._why(exc, "no answer", self.settings.open_timeout_s)
                    reason = f"{self.name}: cannot open: {why}"
                    self._went_down()
                    self._event("open_failed", reason)
                    if not self._wait_before_retry(failures, reason):
                        return
                    continue
                if connected_before:
                    self.reconnects += 1
                    self._event("reconnected", f"{self.name}: reconnected", logging.INFO)
                else:
                    self._event("connected", f"{self.name}: connected", logging.INFO)
                connected_before = True
                self.health = "connected"
                rate = stream.average_rate or stream.guessed_rate
                self.fps = float(rate) if rate else self.fps
                got_frame = False
                reason = f"{self.name}: stream ended"
                skipping = False
                try:
                    for av_frame in self._pictures(container, stream):
                        if self._stop.is_set():
                            return
                        if skipping != self._skip_nonref:
                            skipping = self._skip_nonref
                            set_skip_nonref(stream, skipping)
                        frame = Decoded(av_frame, self.camera_id, index, time.time(), reformatter)
                        index += 1
                        self.frames_decoded = index
                        if not got_frame:
                            # The back-off restarts only once a connection has proved itself by
                            # delivering a picture; an endpoint that accepts and at once drops
                            # would otherwise be retried forever at the shortest delay.
                            got_frame = True
                            failures = 0
                            self._came_up()
                        yield frame
                except _NoPictures as exc:
                    reason = f"{self.name}: stream broke: {exc}"
                except AV_ERRORS as exc:
                    why = self._why(exc, "no data", self.settings.read_timeout_s)
                    reason = f"{self.name}: stream broke: {why}"
                finally:
                    container.close()
                if self._stop.is_set():
                    return
                failures += 1
                self._went_down()
                self._event("disconnected", reason)
                if not self._wait_before_retry(failures, reason):
                    return
        finally:
            # A camera closed while down stays counted down until the close, no longer.
            self._came_up()
            self.health = "ended"

    def _pictures(self, container: InputContainer, stream: Any) -> Iterator[av.VideoFrame]:
        """The stream's pictures; raises _NoPictures when packets flow but no picture comes.

        Damaged data can leave the decoder waiting for the rest of a picture that never
        completes (seen after corrupt packets, with packets that may end inside a picture):
        data arrives, so the read time-out never fires, and without this watch the camera
        would stay silent, and deaf to close(), for as long as the stream lasts. The first
        picture may take up to open_timeout_s (a stream joined mid-GOP waits for a key frame),
        each later one read_timeout_s.
        """
        limit = self.settings.open_timeout_s
        last_picture = time.monotonic()
        for packet in container.demux(stream):
            if self._stop.is_set():
                return
            got = False
            for picture in packet.decode():
                got = True
                yield picture
            now = time.monotonic()
            if got:
                last_picture, limit = now, self.settings.read_timeout_s
            elif now - last_picture > limit:
                raise _NoPictures(f"data but no picture for {limit:g} s (undecodable)")

    @staticmethod
    def _why(exc: BaseException, silence: str, limit_s: float) -> str:
        # PyAV's time-out aborts FFmpeg through its interrupt callback, which FFmpeg reports as
        # "Immediate exit requested": say what actually happened.
        if isinstance(exc, av.ExitError):
            return f"{silence} for {limit_s:g} s (time-out)"
        return describe(exc)

    def _wait_before_retry(self, failures: int, reason: str) -> bool:
        """Back off before the next attempt; False when it is time to stop instead."""
        limit = self.settings.reconnect_attempts
        if limit > 0 and failures > limit:
            plural = "" if limit == 1 else "s"
            self.error = f"{reason} (gave up after {limit} reconnection attempt{plural})"
            self._event("gave_up", self.error, logging.ERROR)
            return False
        self.health = "reconnecting"
        delay = backoff_delay(
            failures, self.settings.reconnect_initial_s, self.settings.reconnect_max_s, self._rng
        )
        attempt = f"attempt {failures}" + (f" of {limit}" if limit > 0 else "")
        self._event("retrying", f"{self.name}: reconnecting in {delay:.2f} s ({attempt})")
        # An Event wait, not sleep, so that close() from another thread ends a long back-off now.
        return not self._stop.wait(delay)

    def skip_nonref(self, on: bool) -> None:
        """Ask the decoder to skip non-reference frames (while analysis is behind) or not."""
        self._skip_nonref = on

    def close(self) -> None:
        """Stop from any thread: at once while backing off, at the next frame while streaming.

        A read blocked on a silent stream ends within read_timeout_s (PyAV offers no way to
        interrupt it sooner from outside).
        """
        if not self._stop.is_set():
            self._stop.set()
            self._event("closed", f"{self.name}: closed", logging.INFO)
        self.health = "ended"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, camera_id={self.camera_id!r})"


class StreamSource(LiveSource):
    """An RTSP(S) or HTTP(S) stream (MJPEG, MPEG-TS, HLS, ...). RTSP is forced onto TCP."""

    def __init__(
        self,
        url: str,
        camera_id: str,
        settings: VideoSettings,
        *,
        options: dict[str, str] | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        opts: dict[str, str] = {}
        if url.lower().startswith(("rtsp://", "rtsps://")):
            # UDP loses packets (smeared, grey frames) on anything but a clean LAN and is
            # blocked by most firewalls; TCP costs a little latency and nothing else.
            opts["rtsp_transport"] = "tcp"
        opts.update(options or {})
        super().__init__(url, camera_id, settings, options=opts, on_event=on_event, rng=rng)


def _default_device_format() -> str:
    if sys.platform.startswith("linux"):
        return "v4l2"
    if sys.platform == "darwin":
        return "avfoundation"
    return "dshow"


class DeviceSource(LiveSource):
    """A local camera: /dev/videoN through v4l2 on Linux (avfoundation/dshow elsewhere).

    `size` ("1280x720"), `fps` and `input_format` ("mjpeg", "yuyv422") are passed to the driver;
    unset, the camera's defaults apply. A camera that is unplugged is reopened with back-off.
    """

    def __init__(
        self,
        device: str,
        camera_id: str,
        settings: VideoSettings,
        *,
        size: str | None = None,
        fps: float | None = None,
        input_format: str | None = None,
        format: str | None = None,
        on_event: EventCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        opts: dict[str, str] = {}
        if size:
            opts["video_size"] = size
        if fps:
            opts["framerate"] = f"{fps:g}"
        if input_format:
            opts["input_format"] = input_format
        super().__init__(
            device,
            camera_id,
            settings,
            format=format or _default_device_format(),
            options=opts,
            on_event=on_event,
            rng=rng,
        )
