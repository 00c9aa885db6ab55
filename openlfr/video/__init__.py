"""Frame sources (PyAV) and the per-camera runner."""

from openlfr.video.file_source import FileSource
from openlfr.video.live import DeviceSource, EventCallback, LiveSource, StreamSource
from openlfr.video.protocols import FrameSource
from openlfr.video.runner import CameraRunner, RunnerStats
from openlfr.video.sources import open_source

__all__ = [
    "CameraRunner",
    "DeviceSource",
    "EventCallback",
    "FileSource",
    "FrameSource",
    "LiveSource",
    "RunnerStats",
    "StreamSource",
    "open_source",
]
