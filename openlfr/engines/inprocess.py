"""The default engine: every camera on a thread of this process, one shared inference stage."""

from __future__ import annotations

from openlfr.engines.protocols import CameraJob, CameraReport, RunControl


class InProcessEngine:
    """Runs the jobs here (`RunControl.local`): one decoding thread per camera and one shared,
    batched inference stage, searching the supervisor's live gallery in memory."""

    name = "in-process"

    def run(self, jobs: list[CameraJob], control: RunControl) -> list[CameraReport]:
        return control.local(jobs, control.stop)
