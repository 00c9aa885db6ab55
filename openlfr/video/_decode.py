"""PyAV helpers shared by every source: opening a container and turning frames into `Frame`s."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import av
import av.container
import numpy as np

from openlfr.vision.types import Frame

# Every error PyAV raises while opening or reading: FFmpeg's own, plus the OS errors it maps
# (missing file, refused connection, time-out) which are not FFmpegError subclasses in all cases.
AV_ERRORS: tuple[type[BaseException], ...] = (av.FFmpegError, OSError, EOFError)
# Opening also fails with ValueError when the input holds no video stream.
OPEN_ERRORS: tuple[type[BaseException], ...] = (*AV_ERRORS, ValueError)

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(target: str) -> str:
    """`target` without any user:password@ part, so credentials never reach logs or messages."""
    return _USERINFO.sub("***@", target)


def describe(exc: BaseException) -> str:
    """A one-line reason for `exc`, without the repeated file name PyAV appends."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    # PyAV formats errors as "[Errno N] Reason: 'target'"; the caller names the target itself,
    # and a URL in that tail could carry credentials.
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text)
    text = re.sub(r":\s*'[^']*'$", "", text)
    return text


def open_input(
    target: str,
    *,
    format: str | None = None,
    options: dict[str, str] | None = None,
    timeout: tuple[float, float] | None = None,
    thread_type: str = "AUTO",
    thread_count: int = 0,
) -> tuple[av.container.InputContainer, Any]:
    """Open `target` and its first video stream, or raise one of AV_ERRORS / ValueError.

    The container is closed again if it has no video stream, so a failed open leaks nothing.
    """
    container = av.open(target, mode="r", format=format, options=options or {}, timeout=timeout)
    try:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = thread_type
        if thread_count:
            stream.codec_context.thread_count = thread_count
    except BaseException:
        container.close()
        raise
    return container, stream


def set_skip_nonref(stream: Any, on: bool) -> None:
    """Have FFmpeg skip decoding non-reference frames (B-frames nothing else refers to) or not.

    Used only while analysis is behind: those frames would be dropped from the queue anyway,
    and decoding them is the largest avoidable cost of a camera. A codec that ignores the
    request (MJPEG: every frame is a reference) simply decodes everything.
    """
    with contextlib.suppress(AttributeError, ValueError, av.FFmpegError):  # exotic codec
        stream.codec_context.skip_frame = "NONREF" if on else "DEFAULT"


def to_frame(frame: av.VideoFrame, camera_id: str, index: int, timestamp: float) -> Frame:
    image: np.ndarray = frame.to_ndarray(format="bgr24")
    # Some pixel formats come back as a view with padded strides; downstream OpenCV calls and
    # the shape check want a plain contiguous array.
    if not image.flags["C_CONTIGUOUS"]:
        image = np.ascontiguousarray(image)
    return Frame(image=image, camera_id=camera_id, index=index, timestamp=timestamp)
