"""A video file as a frame source (PyAV)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import av.container
from av.video.reformatter import VideoReformatter

from openlfr.errors import SourceError
from openlfr.video._decode import (
    AV_ERRORS,
    OPEN_ERRORS,
    Decoded,
    as_frames,
    describe,
    open_input,
    set_skip_nonref,
)
from openlfr.vision.types import Frame

log = logging.getLogger("openlfr.video")

_SLACK_FRAMES = 2


class FileSource:
    """Decodes a file once, as fast as possible or paced at its own frame rate (`realtime`).

    Opening happens in the constructor, so a missing, unreadable or non-video file fails at once
    with `SourceError`. A file that breaks part-way (truncated, corrupt) ends iteration cleanly and
    leaves the reason in `error`: the frames already analysed, and their counters, stay valid.
    """

    live = False

    def __init__(self, path: str | Path, camera_id: str, realtime: bool = False) -> None:
        self.path = Path(path)
        self.camera_id = camera_id
        self.realtime = realtime
        # Paced like a camera (frames beyond the analysis rate are skipped, a full queue drops)
        # rather than read as fast as analysis takes them.
        self.paced = realtime
        self._skip_nonref = False
        self.error: str | None = None
        self.frames_decoded = 0
        self.health = "connected"
        self.reconnects = 0
        self.down_s = 0.0
        self.fps: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._busy = False
        self._container: av.container.InputContainer | None = None
        self._container, stream = self._open()
        self.fps = float(stream.average_rate or stream.guessed_rate or 25)

    def _open(self) -> tuple[av.container.InputContainer, Any]:
        if not self.path.exists():
            raise SourceError(f"{self.path}: no such video file")
        if not self.path.is_file():
            raise SourceError(f"{self.path}: not a video file (not a regular file)")
        try:
            # A paced file stands for a camera, and many run side by side: one decoding thread
            # each costs ~20 % less CPU per frame than frame threading, which only buys speed
            # for one file read flat out.
            if self.realtime:
                return open_input(str(self.path), thread_type="SLICE", thread_count=1)
            return open_input(str(self.path), thread_type="AUTO")
        except OPEN_ERRORS as exc:
            raise SourceError(f"{self.path}: cannot open as video ({describe(exc)})") from None

    def frames(self) -> Generator[Frame, None, None]:
        return as_frames(self.decoded())

    def decoded(self) -> Generator[Decoded, None, None]:
        """The pictures as decoded, each converted to a Frame only if the caller asks."""
        with self._lock:
            if self._busy:
                raise SourceError(f"{self.path}: frames() is already being iterated")
            self._busy = True
            container, self._container = self._container, None
        try:
            if container is None and not self._stop.is_set():
                container, _ = self._open()
            if container is not None:
                yield from self._decode(container)
        finally:
            if container is not None:
                container.close()
            with self._lock:
                self._busy = False
            self.health = "ended"

    def _decode(self, container: av.container.InputContainer) -> Iterator[Decoded]:
        stream = container.streams.video[0]
        reformatter = VideoReformatter()
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        start_wall: float | None = None
        start_media = 0.0
        index = 0
        try:
            skipping = False
            for av_frame in container.decode(stream):
                if self._stop.is_set():
                    return
                if skipping != self._skip_nonref:  # analysis behind: decode less (see below)
                    skipping = self._skip_nonref
                    set_skip_nonref(stream, skipping)
                # Frames without a pts (rare, broken muxers) still get a monotone media time.
                ts = av_frame.time if av_frame.time is not None else index / rate
                if self.realtime:
                    if start_wall is None:
                        start_wall, start_media = time.monotonic(), ts
                    delay = start_wall + (ts - start_media) - time.monotonic()
                    # Waiting on the event, not sleeping, lets close() cut a long pause short.
                    if delay > 0 and self._stop.wait(delay):
                        return
                picture = Decoded(av_frame, self.camera_id, index, float(ts), reformatter)
                index += 1
                self.frames_decoded = index
                yield picture
        except AV_ERRORS as exc:
            self.error = f"{self.path}: stopped after {index} frames: {describe(exc)}"
            log.warning("%s", self.error)
            return
        declared = stream.frames or 0
        # Threaded decoding swallows FFmpeg's error on a truncated file and simply ends, so a
        # shortfall against the frame count in the header is the only sign left. A few frames
        # of slack: edit lists may legitimately hide some at the start.
        if declared and index < declared - _SLACK_FRAMES:
            self.error = (
                f"{self.path}: ended after {index} of the {declared} frames it declares "
                "(truncated or corrupt)"
            )
            log.warning("%s", self.error)

    def skip_nonref(self, on: bool) -> None:
        """Ask the decoder to skip non-reference frames (while analysis is behind) or not."""
        self._skip_nonref = on

    def close(self) -> None:
        """Stop iteration at the next frame; safe from any thread, and more than once."""
        self._stop.set()
        with self._lock:
            # A container in use belongs to the decoding thread, which closes it on its way out;
            # closing it from here while it decodes would free memory under FFmpeg's feet.
            if not self._busy and self._container is not None:
                self._container.close()
                self._container = None
        self.health = "ended"

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r}, camera_id={self.camera_id!r})"
