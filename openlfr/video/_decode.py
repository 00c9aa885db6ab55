"""PyAV helpers shared by every source: opening a container and turning frames into `Frame`s."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Generator
from typing import Any

import av
import av.codec.context
import av.container
import numpy as np
from av.video.reformatter import VideoReformatter

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
    chunks: bool = False,
) -> tuple[av.container.InputContainer, Any]:
    """Open `target` and its first video stream, or raise one of AV_ERRORS / ValueError.

    `chunks`: packets may end inside a picture (FFmpeg's AV_CODEC_FLAG2_CHUNKS), as FFmpeg's
    RTSP demuxer delivers a multi-slice H.264 key frame: in two packets, on the shared clips
    served by GStreamer. Without the flag the decoder takes each packet for a whole picture,
    conceals the missing half, and every picture up to the next key frame is smeared (a mate
    cosine of 0.86 fell to 0.15-0.53 on the 720p benchmark stream). The price is one frame
    of latency at most, while the decoder waits for a picture's last slice.
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
        if chunks:
            stream.codec_context.flags2 |= int(av.codec.context.Flags2.chunks)
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


def to_frame(
    frame: av.VideoFrame,
    camera_id: str,
    index: int,
    timestamp: float,
    reformatter: VideoReformatter | None = None,
) -> Frame:
    # One reformatter per source keeps FFmpeg's scaler context between frames; a bare
    # to_ndarray builds a new one for every frame (~0.3 ms of a 720p frame's 0.7 ms). One
    # scaling thread: with a camera per thread already, more only oversubscribe the cores.
    bgr = (reformatter or VideoReformatter()).reformat(frame, format="bgr24", threads=1)
    image: np.ndarray = bgr.to_ndarray()
    # Some pixel formats come back as a view with padded strides; downstream OpenCV calls and
    # the shape check want a plain contiguous array.
    if not image.flags["C_CONTIGUOUS"]:
        image = np.ascontiguousarray(image)
    return Frame(image=image, camera_id=camera_id, index=index, timestamp=timestamp)


class Decoded:
    """A decoded picture, still in the decoder's pixel format, with its index and timestamp.

    Sources yield these from `decoded()` so that the costly conversion to a BGR array is paid
    only for frames that will be analysed: a paced camera at 25 fps analysed at 10 fps skips
    most of its frames, and a full queue drops more. `to_frame` converts; it may run on another
    thread than the decoder's (the picture no longer belongs to the decoder), but the pictures
    of one source must be converted by one thread at a time: they share its `reformatter`.
    """

    __slots__ = ("_picture", "_reformatter", "camera_id", "index", "timestamp")

    def __init__(
        self,
        picture: av.VideoFrame,
        camera_id: str,
        index: int,
        timestamp: float,
        reformatter: VideoReformatter | None = None,
    ) -> None:
        self._picture, self._reformatter = picture, reformatter
        self.camera_id, self.index, self.timestamp = camera_id, index, timestamp

    def to_frame(self) -> Frame:
        picture, reformatter = self._picture, self._reformatter
        return to_frame(picture, self.camera_id, self.index, self.timestamp, reformatter)


def as_frames(pictures: Generator[Decoded, None, None]) -> Generator[Frame, None, None]:
    """Every decoded picture converted, for callers that analyse each one."""
    try:
        for picture in pictures:
            yield picture.to_frame()
    finally:
        pictures.close()  # on the consuming thread: it closes the container
