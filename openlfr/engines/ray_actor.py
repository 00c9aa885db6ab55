"""What a Ray camera actor runs: one camera of a deployment, in a worker process of whichever
node Ray placed it on. Plain Python (Ray is imported only when called), so that importing this
module costs nothing where Ray is not installed; `ray_engine` wraps it with `ray.remote`.

The camera's frames are decoded, analysed and dropped in this process; only what
`run_camera_jobs` writes to the store (counters, sealed alerts, audit entries) and the
`CameraReport` leave it.
"""

from __future__ import annotations

import logging
import threading

from openlfr.engines.protocols import CameraJob, CameraReport

log = logging.getLogger("openlfr.engines.ray")


class CameraActor:
    """One camera. Ray builds it again from the same job when its node or process dies
    (`max_restarts`); the engine then calls `run` again and the camera carries on."""

    def __init__(self, job: CameraJob) -> None:
        self.job = job
        self._stop = threading.Event()

    def run(self) -> CameraReport:
        """Runs the camera to its end (window, stop, source gone); never raises for that."""
        import ray

        from openlfr.service.camera_job import run_camera_jobs

        if ray.get_runtime_context().was_current_actor_reconstructed:
            self._close_lost()
        return run_camera_jobs([self.job], self._stop)[0]

    def _close_lost(self) -> None:
        """This actor was rebuilt after its worker died: end the attempt that died with it."""
        from openlfr.service.camera_attempts import close_lost_attempts
        from openlfr.service.context import AppContext

        ctx = AppContext.open(self.job.settings, actor="system")
        try:
            closed = close_lost_attempts(ctx, self.job.deployment_id, self.job.camera_db_id)
        finally:
            ctx.close()
        log.warning("camera %s: %d lost attempt(s) ended", self.job.camera_name, closed)

    def stop(self) -> None:
        """Ends `run` at once (reason "stopped by operator"); called on a second thread."""
        self._stop.set()

    def node_id(self) -> str:
        """The Ray node this camera runs on (for placement checks and the run's log)."""
        import ray

        return str(ray.get_runtime_context().get_node_id())
