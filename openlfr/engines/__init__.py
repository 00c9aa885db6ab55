"""Where camera loops run: threads of this process (`InProcessEngine`), or elsewhere (a Ray
engine places one actor per camera across machines). Every engine takes the same picklable
`CameraJob`s and hands back `CameraReport`s."""

from openlfr.engines.inprocess import InProcessEngine
from openlfr.engines.protocols import CameraJob, CameraReport, CameraWork, Engine, RunControl

__all__ = ["CameraJob", "CameraReport", "CameraWork", "Engine", "InProcessEngine", "RunControl"]
