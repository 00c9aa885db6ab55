"""The engine contract: what one camera of a deployment is, wherever it runs.

A `CameraJob` is plain data (it crosses to other processes and machines: never a frame, never
an open connection). The process that runs it opens the store itself and writes everything
there: counters, alerts, audit entries. A `CameraReport` comes back when the camera ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from openlfr.config import Settings


@dataclass(frozen=True)
class CameraJob:
    """One camera of one authorised deployment, as a worker needs it to start."""

    deployment_id: int
    camera_db_id: int  # cameras.id
    camera_name: str
    source: str  # URL or path; may hold credentials: never logged (video.redact)
    settings: Settings  # the runner's settings, store included
    store_url: str  # settings.store.resolved_url(): PostgreSQL when workers are on other hosts
    threshold: float
    end_at: datetime  # UTC, the authorised end (R5)
    watchlist_id: int


@dataclass
class CameraReport:
    """How one camera's run went: the same figures its deployment_counters row holds."""

    camera_name: str
    frames: int = 0  # analysed
    skipped: int = 0  # beyond video.analysis_fps
    dropped: int = 0  # analysis behind: oldest queued frame lost
    faces: int = 0
    tracks: int = 0
    embedded: int = 0
    alerts: int = 0
    alert_ids: list[int] = field(default_factory=list)
    end_reason: str = ""
    reconnects: int = 0
    down_s: float = 0.0  # seconds a live source was down (failure to next picture)


CameraWork = Callable[[list[CameraJob], threading.Event], list[CameraReport]]
"""Runs jobs in the calling process until each camera ends (or the event is set); one report
per job, in order. `service.camera_job.run_camera_jobs` is one; so is the function the service
hands an engine in `RunControl.local`."""


@dataclass
class RunControl:
    """What the supervising service gives an engine for one run."""

    stop: threading.Event  # set on the window's end, a stop from the web, Ctrl-C
    local: CameraWork  # runs jobs here, sharing the supervisor's live search and its models


class Engine(Protocol):
    name: str

    def run(self, jobs: list[CameraJob], control: RunControl) -> list[CameraReport]:
        """Runs every job until it ends; blocks; one report per job, in the same order."""
        ...
