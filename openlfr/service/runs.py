"""Running an authorised deployment: service/ starts, stops and supervises; it is not on the
frame's path. The cameras run on an engine (`engines/`: threads of this process by default)
from picklable `CameraJob`s; each frame goes source -> runner -> shared inference stage ->
AlertSink (`pipeline.camera_loop`, `service.camera_job`).

Only alerts are written with images; everything else a camera sees leaves as counts, saved
every few seconds (and before each alert) so that a killed process loses little.

Retention runs beside the cameras (``PurgeScheduler``): once at start, then every
``governance.purge_interval_minutes``; each tick also drops images withdrawn since the start
(R11) from the live search. The authorised end is watched from the supervising thread too, so a
camera whose source has gone silent is still stopped at the end of its window (R5).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from openlfr.domain import deployment_may_run, watchlist_purge_due
from openlfr.engines import CameraJob, CameraReport, Engine, InProcessEngine, RunControl
from openlfr.errors import RuleViolation
from openlfr.pipeline.camera_loop import Progress
from openlfr.service.alert_sink import StoreAlertSink
from openlfr.service.camera_job import drop_withdrawn, run_camera_jobs
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import require_status
from openlfr.service.notices import check_notice_period
from openlfr.service.purge_schedule import PurgeScheduler
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.service.refusals import audits_refusals
from openlfr.service.run_control import COUNTER_SAVE_S, LiveSearch, describe_end, poll_run
from openlfr.service.watchlists import load_gallery
from openlfr.store import AuditAction, DeploymentStatus, append_audit
from openlfr.store import models as m
from openlfr.store.integrity import verify_deployment_of
from openlfr.store.signing import write_checkpoint

__all__ = [
    "CameraSummary",
    "Progress",
    "RunSummary",
    "StoreAlertSink",
    "check_may_run",
    "run_deployment",
]

log = logging.getLogger(__name__)


@dataclass
class CameraSummary:
    camera: str
    frames: int = 0  # analysed
    dropped: int = 0  # analysis behind (oldest queued frame lost)
    skipped: int = 0  # beyond video.analysis_fps
    faces: int = 0
    tracks: int = 0
    embedded: int = 0
    alerts: int = 0
    end_reason: str = ""


@dataclass
class RunSummary:
    deployment_id: int
    cameras: list[CameraSummary] = field(default_factory=list)
    alert_ids: list[int] = field(default_factory=list)
    seconds: float = 0.0
    purge_runs: int = 0  # scheduled purges done during the run (R9-R11)
    purge_errors: list[str] = field(default_factory=list)
    withdrawn_during_run: list[int] = field(default_factory=list)  # image ids dropped (R11)
    watchlist_purge_due: datetime | None = None  # R9: when the next purge run must delete it
    end_reason: str = ""  # why the run ended, as the deployment records it
    run_failed: bool = False  # no camera could run: the deployment "did not run"


@dataclass(frozen=True)
class _Window:
    start: datetime
    end: datetime


def check_may_run(dep: m.Deployment | None, deployment_id: int) -> m.Deployment:
    """R5: only an existing, authorised deployment, inside its authorised window, may run."""
    dep = require_status(dep, deployment_id, (DeploymentStatus.AUTHORISED.value,), "run")
    if not deployment_may_run(_Window(dep.start_at, dep.end_at), utcnow()):
        raise RuleViolation(
            "R5",
            f"deployment {deployment_id} is authorised for {dep.start_at:%Y-%m-%d %H:%M}"
            f" to {dep.end_at:%Y-%m-%d %H:%M} UTC, not now",
        )
    check_notice_period(dep)  # R19 (R5 extended): its public notice has been up long enough
    verify_deployment_of(dep)  # issue 9 (H3): the authorisation as signed off, not as edited
    return dep


@audits_refusals(
    AuditAction.CONSULTATION, "deployment", event="run_refused", object_id="deployment_id"
)
def run_deployment(
    ctx: AppContext,
    deployment_id: int,
    *,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    engine: Engine | None = None,
) -> RunSummary:
    """Runs every camera of an authorised deployment until its sources end, its authorised
    window closes, or `stop` is set, on `engine` (default: threads of this process). Refuses a
    deployment that is not authorised (R5). Retention runs on a schedule meanwhile (see the
    module's docstring)."""
    stop = stop or threading.Event()
    recover_abandoned_runs(ctx, utcnow())  # a killed run's deployment is ended, not left live
    with ctx.store.session() as s:
        dep = check_may_run(s.get(m.Deployment, deployment_id), deployment_id)
        cameras = list(s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep.id)))
        threshold, end_at, wl_id = dep.threshold, dep.end_at, dep.watchlist_id
        dep.status = DeploymentStatus.LIVE.value
        dep.started_at = utcnow()
        dep.stop_requested_at, dep.stop_requested_by = None, None
    scheduler = PurgeScheduler(ctx, name=f"purge-deployment-{deployment_id}")
    scheduler.tick()  # due deletions first, before anything is searched
    gallery, entries = load_gallery(
        ctx, wl_id, justification=f"watchlist searched by deployment {deployment_id}"
    )
    live = LiveSearch(gallery, entries)
    summary = RunSummary(deployment_id)
    scheduler.on_tick = lambda: summary.withdrawn_during_run.extend(
        drop_withdrawn(ctx, deployment_id, live)
    )
    scheduler.start()
    started = time.monotonic()
    jobs = [
        CameraJob(
            deployment_id=deployment_id,
            camera_db_id=cam.id,
            camera_name=cam.name,
            source=cam.source,
            settings=ctx.settings,
            store_url=ctx.settings.store.resolved_url(),
            threshold=threshold,
            end_at=end_at,
            watchlist_id=wl_id,
        )
        for cam in cameras
    ]
    control = RunControl(
        stop=stop,
        local=lambda js, ev: run_camera_jobs(js, ev, ctx=ctx, live=live, progress=progress),
    )
    reports: list[CameraReport] = [CameraReport(j.camera_name) for j in jobs]
    failure: list[BaseException] = []

    def run_engine() -> None:
        try:
            reports[:] = (engine or InProcessEngine()).run(jobs, control)
        except BaseException as exc:  # recorded as every camera's end reason below
            failure.append(exc)

    thread = threading.Thread(target=run_engine, name=f"engine-{deployment_id}", daemon=True)
    thread.start()
    try:
        _supervise(ctx, deployment_id, thread, live, end_at)
    except KeyboardInterrupt:
        stop.set()
        thread.join()
    finally:
        scheduler.stop()
    for report in reports:
        if failure and not report.end_reason:
            report.end_reason = f"error: {failure[0]}"
        summary.alert_ids.extend(report.alert_ids)
        summary.cameras.append(
            CameraSummary(
                report.camera_name,
                frames=report.frames,
                dropped=report.dropped,
                skipped=report.skipped,
                faces=report.faces,
                tracks=report.tracks,
                embedded=report.embedded,
                alerts=report.alerts,
                end_reason=report.end_reason,
            )
        )
    summary.seconds = time.monotonic() - started
    ended_at = utcnow()
    summary.end_reason, summary.run_failed = describe_end(
        [(c.camera, c.frames, c.end_reason) for c in summary.cameras], live.stop_reason
    )

    def end_run() -> None:
        with ctx.store.session() as s:
            s.execute(
                update(m.Deployment)
                .where(m.Deployment.id == deployment_id)
                .values(
                    status=DeploymentStatus.ENDED.value,
                    ended_at=ended_at,
                    end_reason=summary.end_reason,
                    run_failed=summary.run_failed,
                )
            )
            if live.stop_reason is not None:  # the request was audited; so is its being carried out
                append_audit(
                    s,
                    actor=live.stop_reason.removeprefix("stopped by "),
                    action=AuditAction.ALTERATION,
                    event="deployment_stopped",
                    object_type="deployment",
                    object_id=deployment_id,
                    justification=f"run ended: {live.stop_reason}",
                )
            write_checkpoint(s, f"deployment {deployment_id} ended")  # issue 9 (H3): signed head

    _until_stored(end_run, f"end of deployment {deployment_id}")
    # R9: the end fixes the watchlist's purge time; the purge run after it deletes it (this
    # one when the setting is 0 h, else a later run: the next deployment or `openlfr purge`).
    summary.watchlist_purge_due = watchlist_purge_due(ended_at, ctx.settings.governance)
    scheduler.tick()
    summary.purge_runs, summary.purge_errors = scheduler.runs, scheduler.errors
    return summary


def _supervise(
    ctx: AppContext,
    deployment_id: int,
    thread: threading.Thread,
    live: LiveSearch,
    end_at: datetime,
) -> None:
    """Waits for the engine; closes the window at the authorised end and halts every camera
    when a stop is asked for from the web (polled every COUNTER_SAVE_S, from any process).
    Cameras on other machines watch the store for the same themselves."""
    next_poll = time.monotonic() + COUNTER_SAVE_S
    for t in [thread]:
        while t.is_alive():
            t.join(0.2)
            if utcnow() >= end_at and not live.window_closed.is_set():
                live.close_window()
            if live.stop_reason is None and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + COUNTER_SAVE_S
                who = poll_run(ctx, deployment_id)  # and beats the heartbeat
                if who is not None:
                    live.halt(f"stopped by {who}")


#: How long a run's end is retried while the store is unreachable (a PostgreSQL restart or
#: fail-over takes seconds); past it the error stands and the heartbeat's silence ends the run.
END_PATIENCE_S = 120.0


def _until_stored(write: Callable[[], None], what: str) -> None:
    """``write``, retried while the database connection is lost: a run that lost its store
    mid-way still ends cleanly (ended, with its reasons) once the store is back, instead of
    dying with the deployment left live."""
    deadline = time.monotonic() + END_PATIENCE_S
    while True:
        try:
            write()
            return
        except OperationalError:
            if time.monotonic() >= deadline:
                raise
            log.warning("store unreachable writing the %s; retrying", what, exc_info=True)
            time.sleep(1.0)
