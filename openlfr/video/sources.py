"""Frame sources and the one place that picks a source for a camera spec."""

from __future__ import annotations

import re
from pathlib import Path

from openlfr.config import VideoSettings
from openlfr.errors import SourceError
from openlfr.video.file_source import FileSource
from openlfr.video.live import DeviceSource, EventCallback, LiveSource, StreamSource, backoff_delay
from openlfr.video.protocols import FrameSource

__all__ = [
    "DeviceSource",
    "EventCallback",
    "FileSource",
    "LiveSource",
    "StreamSource",
    "backoff_delay",
    "open_source",
]

_STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
_DEVICE_N = re.compile(r"^device:(\d+)$", re.IGNORECASE)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def open_source(
    spec: str,
    camera_id: str,
    settings: VideoSettings,
    *,
    on_event: EventCallback | None = None,
) -> FrameSource:
    """The source for `spec`: a stream URL, a camera device, or else a video file.

    rtsp://, rtsps://, http://, https:// -> StreamSource; /dev/videoN or device:N -> DeviceSource;
    anything else is a file path -> FileSource (paced when settings.realtime). A file that cannot
    be opened raises SourceError here; live sources connect lazily, on iteration, and retry.
    """
    spec = spec.strip()
    lowered = spec.lower()
    if lowered.startswith(_STREAM_SCHEMES):
        return StreamSource(spec, camera_id, settings, on_event=on_event)
    device = _DEVICE_N.match(spec)
    if device:
        return DeviceSource(f"/dev/video{device.group(1)}", camera_id, settings, on_event=on_event)
    if spec.startswith("/dev/video"):
        return DeviceSource(spec, camera_id, settings, on_event=on_event)
    if _SCHEME.match(spec):
        # Refuse rather than hand an unknown URL to FFmpeg as a "file": it would try protocols
        # (ftp, udp, ...) that this system has not been reviewed for.
        raise SourceError(f"{spec.split('://')[0]}://: unsupported source scheme in {camera_id!r}")
    return FileSource(Path(spec), camera_id, realtime=settings.realtime)
