"""Face tracks across frames, behind the `Tracker` protocol (default: ByteTrack)."""

from openlfr.tracking.bytetrack import FaceTracker
from openlfr.tracking.protocols import TrackedFaces, Tracker

__all__ = ["FaceTracker", "TrackedFaces", "Tracker"]
