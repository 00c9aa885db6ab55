"""What stops a running deployment, from any process: its authorised window closing (R5), a
stop asked for from the web or API, or the runner's own stop event (Ctrl-C, server shutdown).

A stop from the web is a row update (`deployments.stop_requested_at/_by`), not a signal: the
runner may be a separate `openlfr deployment run` process or another machine on the same
PostgreSQL, and the database is the one thing they all share. The runner polls it every
counter save (`COUNTER_SAVE_S`), and beats its heartbeat at the same poll (`poll_run`): a run
whose heartbeat falls silent is ended as lost by `service.recovery`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from sqlalchemy import select, update

from openlfr.errors import RuleViolation
from openlfr.matching.protocols import GalleryIndex
from openlfr.service.context import AppContext, utcnow
from openlfr.service.watchlists import GalleryEntry
from openlfr.store import AuditAction, DeploymentStatus, append_audit
from openlfr.store import models as m
from openlfr.video.runner import CameraRunner

log = logging.getLogger(__name__)

COUNTER_SAVE_S = 2.0


class LiveSearch:
    """What the cameras search and what stops them, shared with the supervising thread."""

    def __init__(self, gallery: GalleryIndex, entries: list[GalleryEntry]) -> None:
        self.entries = entries
        self.version, self._gallery = 0, gallery
        self.excluded: set[int] = set()
        self.window_closed = threading.Event()
        self.stop_reason: str | None = None  # "stopped by <user>" once a stop was asked for
        self.runners: list[CameraRunner] = []
        self._lock = threading.Lock()

    def gallery(self) -> tuple[int, GalleryIndex]:
        with self._lock:
            return self.version, self._gallery

    def replace(self, gallery: GalleryIndex) -> None:
        with self._lock:
            self._gallery, self.version = gallery, self.version + 1

    def add_runner(self, runner: CameraRunner) -> None:
        with self._lock:
            self.runners.append(runner)
            closed = self.window_closed.is_set() or self.stop_reason is not None
        if closed:
            runner.stop(timeout=0)

    def close_window(self) -> None:
        with self._lock:
            self.window_closed.set()
        self.stop_runners()

    def halt(self, reason: str) -> None:
        """Ends every camera now, with `reason` as each one's end reason."""
        with self._lock:
            self.stop_reason = self.stop_reason or reason
        self.stop_runners()

    def stop_runners(self) -> None:
        with self._lock:
            runners = list(self.runners)
        for runner in runners:
            runner.stop(timeout=0)  # ends a camera's wait for a frame that may never come


def request_stop(ctx: AppContext, deployment_id: int, *, reason: str = "") -> None:
    """Asks the process running a live deployment to stop it (audited). Refused when the
    deployment is not live; asking again while a stop is pending changes nothing."""
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {deployment_id} does not exist")
        if dep.status != DeploymentStatus.LIVE.value:
            raise RuleViolation(
                "R5", f"deployment {deployment_id} is {dep.status}: only a live one can be stopped"
            )
        if dep.stop_requested_at is not None:
            return
        dep.stop_requested_at, dep.stop_requested_by = utcnow(), ctx.actor
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            event="deployment_stop_requested",
            object_type="deployment",
            object_id=deployment_id,
            justification=reason or "stop asked for from the operator service",
        )


def stop_requested_by(ctx: AppContext, deployment_id: int) -> str | None:
    """Who asked for this deployment to stop, or None while nobody has."""
    with ctx.store.session() as s:
        row = s.execute(
            select(m.Deployment.stop_requested_at, m.Deployment.stop_requested_by).where(
                m.Deployment.id == deployment_id
            )
        ).first()
    if row is None or row[0] is None:
        return None
    return str(row[1] or "unknown")


def poll_run(ctx: AppContext, deployment_id: int) -> str | None:
    """The supervisor's poll, every COUNTER_SAVE_S: beats the heartbeat of the run's cameras
    still going (a camera waiting for a silent source is alive too), then says who asked for a
    stop. "system" when the deployment is no longer live: recovery took this runner for lost
    (it was frozen past `video.runner_lost_after_s`), so it must not go on searching faces.
    A failed beat or read is logged, never raised: a busy, full or briefly unreachable store
    must not end a live run."""
    try:
        with ctx.store.session() as s:
            s.execute(
                update(m.DeploymentCounter)
                .where(
                    m.DeploymentCounter.deployment_id == deployment_id,
                    m.DeploymentCounter.ended_at.is_(None),
                )
                .values(updated_at=utcnow())
            )
    except Exception:
        log.warning("heartbeat of deployment %s not saved", deployment_id, exc_info=True)
    try:
        with ctx.store.session() as s:
            status = s.scalar(select(m.Deployment.status).where(m.Deployment.id == deployment_id))
        if status is not None and status != DeploymentStatus.LIVE.value:
            return "system"
        return stop_requested_by(ctx, deployment_id)
    except Exception:
        # Nor a failed read (PostgreSQL restarting): raised, it left the supervisor with its
        # cameras still running and the deployment live; the next poll asks again.
        log.warning("stop request of deployment %s not read", deployment_id, exc_info=True)
        return None


#: Camera end reasons that mean it was stopped on purpose, not that it failed.
_WINDOW_ENDED = "authorised window ended"


def _stopped(reason: str) -> bool:
    return reason == _WINDOW_ENDED or reason.startswith("stopped by ")


def describe_end(
    cameras: Sequence[tuple[str, int, str]], stop_reason: str | None
) -> tuple[str, bool]:
    """(why the run ended, whether it failed) from each camera's (name, frames, end reason).

    A run failed, and "did not run", when no camera delivered a single frame for a reason other
    than a stop: every source failed to open or broke (or was empty) before its first picture.
    A deployment page and the public record must then say so rather than list it as a
    deployment that saw nobody.
    """
    failed = [
        (name, reason) for name, frames, reason in cameras if frames == 0 and not _stopped(reason)
    ]
    if len(failed) == len(cameras):
        if not failed:
            return "did not run: camera failed: no camera", True
        if len(failed) == 1:
            return f"did not run: camera failed: {failed[0][1]}", True
        return "did not run: camera failed: " + "; ".join(f"{n}: {r}" for n, r in failed), True
    if stop_reason is not None:
        return stop_reason, False
    reasons = list(dict.fromkeys(reason for _, _, reason in cameras))
    if reasons == ["source ended"]:
        return ("source ended" if len(cameras) == 1 else "sources ended"), False
    if len(reasons) == 1:
        return reasons[0], False
    return "; ".join(f"{name}: {reason}" for name, _, reason in cameras), False
