"""Running an authorised deployment: one pipeline per camera, alerts sealed into the store.

Only alerts are written with images; everything else a camera sees leaves as counts, saved
every few seconds so that a killed process loses little.

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

from openlfr.domain import deployment_may_run, watchlist_purge_due
from openlfr.errors import RuleViolation, SourceError, StoreFull
from openlfr.pipeline.alerts import CaptureTimes
from openlfr.pipeline.live import LivePipeline
from openlfr.service.alert_sink import StoreAlertSink
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import require_status
from openlfr.service.notices import check_notice_period
from openlfr.service.purge_schedule import PurgeScheduler
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.service.refusals import audits_refusals
from openlfr.service.run_control import COUNTER_SAVE_S, LiveSearch, describe_end, poll_run
from openlfr.service.watchlists import (
    load_gallery,
    rebuild_gallery,
    withdrawn_images,
)
from openlfr.store import AuditAction, DeploymentStatus, append_audit
from openlfr.store import models as m
from openlfr.video.runner import CameraRunner
from openlfr.video.sources import open_source

__all__ = ["CameraSummary", "RunSummary", "StoreAlertSink", "check_may_run", "run_deployment"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # camera name, frames done, alerts so far


@dataclass
class CameraSummary:
    camera: str
    frames: int = 0
    dropped: int = 0
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
) -> RunSummary:
    """Runs every camera of an authorised deployment until its sources end, its authorised
    window closes, or `stop` is set. Refuses a deployment that is not authorised (R5).
    Retention runs on a schedule meanwhile (see the module's docstring)."""
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
    scheduler.on_tick = lambda: _drop_withdrawn(ctx, deployment_id, live, summary)
    scheduler.start()
    started = time.monotonic()
    threads = []
    for cam in cameras:
        cs = CameraSummary(cam.name)
        summary.cameras.append(cs)
        t = threading.Thread(
            target=_run_camera,
            args=(
                ctx,
                deployment_id,
                cam,
                live,
                threshold,
                end_at,
                cs,
                summary,
                progress,
                stop,
            ),
            name=f"camera-{cam.name}",
            daemon=True,
        )
        threads.append(t)
        t.start()
    try:
        _supervise(ctx, deployment_id, threads, live, end_at)
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join()
    finally:
        scheduler.stop()
    summary.seconds = time.monotonic() - started
    ended_at = utcnow()
    summary.end_reason, summary.run_failed = describe_end(
        [(c.camera, c.frames, c.end_reason) for c in summary.cameras], live.stop_reason
    )
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
    # R9: the end fixes the watchlist's purge time; the purge run after it deletes it (this
    # one when the setting is 0 h, else a later run: the next deployment or `openlfr purge`).
    summary.watchlist_purge_due = watchlist_purge_due(ended_at, ctx.settings.governance)
    scheduler.tick()
    summary.purge_runs, summary.purge_errors = scheduler.runs, scheduler.errors
    return summary


def _supervise(
    ctx: AppContext,
    deployment_id: int,
    threads: list[threading.Thread],
    live: LiveSearch,
    end_at: datetime,
) -> None:
    """Waits for the cameras; closes the window at the authorised end and halts them all when
    a stop is asked for from the web (polled every COUNTER_SAVE_S, from any process)."""
    next_poll = time.monotonic() + COUNTER_SAVE_S
    for t in threads:
        while t.is_alive():
            t.join(0.2)
            if utcnow() >= end_at and not live.window_closed.is_set():
                live.close_window()
            if live.stop_reason is None and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + COUNTER_SAVE_S
                who = poll_run(ctx, deployment_id)  # and beats the heartbeat
                if who is not None:
                    live.halt(f"stopped by {who}")


def _drop_withdrawn(
    ctx: AppContext, deployment_id: int, live: LiveSearch, summary: RunSummary
) -> None:
    """R11 during a run: images withdrawn since the start leave the search from the next frame."""
    gone = withdrawn_images(ctx, [e.reference_image_id for e in live.entries]) - live.excluded
    if not gone:
        return
    live.excluded |= gone
    live.replace(
        rebuild_gallery(
            ctx,
            live.entries,
            exclude=live.excluded,
            justification=f"images withdrawn under R11 dropped from the search of deployment "
            f"{deployment_id}",
        )
    )
    summary.withdrawn_during_run.extend(sorted(gone))


def _run_camera(
    ctx: AppContext,
    deployment_id: int,
    cam: m.Camera,
    live: LiveSearch,
    threshold: float,
    end_at: object,
    cs: CameraSummary,
    summary: RunSummary,
    progress: Progress | None,
    stop: threading.Event,
) -> None:
    captured = CaptureTimes()
    sink = StoreAlertSink(ctx, deployment_id, cam.id, live.entries, captured)
    try:
        with ctx.store.session() as s:
            counter = m.DeploymentCounter(deployment_id=deployment_id, camera_id=cam.id)
            s.add(counter)
            s.flush()
            counter_id = counter.id
    except StoreFull as exc:  # the camera never starts: nothing it saw could be recorded
        log.error("deployment %s camera %s not started: %s", deployment_id, cam.name, exc)
        cs.end_reason = str(exc)
        return
    reason = "source ended"
    pipeline = None
    runner = None
    try:
        try:
            source = open_source(cam.source, cam.name, ctx.settings.video)
        except SourceError as exc:  # checked at drafting, but a file can go missing since
            reason = f"cannot open source: {exc}"
            return
        fps = float(getattr(source, "fps", 0) or 25.0)
        version, gallery = live.gallery()
        pipeline = LivePipeline(
            detector=ctx.detector,
            embedder=ctx.embedder,
            gallery=gallery,
            sink=sink,
            settings=ctx.settings,
            threshold=threshold,
            fps=fps,
        )
        # The runner reads through the stamp, so time spent in its queue counts as latency.
        runner = CameraRunner(captured.wrap(source), ctx.settings.video).start()
        live.add_runner(runner)
        last_save = time.monotonic()
        for frame in runner:
            if live.stop_reason is not None or stop.is_set():
                reason = live.stop_reason or "stopped by operator"
                break
            if utcnow() >= end_at:  # type: ignore[operator]
                reason = "authorised window ended"
                break
            if live.version != version:  # withdrawn images left the search (R11)
                version, gallery = live.gallery()
                pipeline.replace_gallery(gallery)
            pipeline.process(frame)
            if progress:
                progress(cam.name, pipeline.counters.frames, pipeline.counters.alerts)
            if time.monotonic() - last_save > COUNTER_SAVE_S:
                _save_counters(ctx, counter_id, pipeline, runner, cs, None)
                last_save = time.monotonic()
        if live.stop_reason is not None and reason == "source ended":
            reason = live.stop_reason  # halted while waiting for a frame
        elif live.window_closed.is_set() and reason == "source ended":
            reason = "authorised window ended"  # stopped by the supervisor's clock
        err = runner.error or getattr(source, "error", None)
        if err and reason == "source ended":
            reason = f"source failed: {err}"
    except StoreFull as exc:  # an alert or the counters could not be written: stop, loudly
        reason = str(exc)
        log.error("deployment %s camera %s stopped: %s", deployment_id, cam.name, reason)
    except Exception as exc:  # the run ends, but its counters must still be saved
        reason = f"error: {exc}"
    finally:
        if runner is not None:
            runner.stop()
        try:
            if pipeline is not None:
                pipeline.finish()
                _close_alerts(ctx, sink, pipeline)
        finally:
            _save_counters(ctx, counter_id, pipeline, runner, cs, reason)
            summary.alert_ids.extend(sorted(sink.alert_ids.values()))


def _close_alerts(ctx: AppContext, sink: StoreAlertSink, pipeline: LivePipeline) -> None:
    try:
        with ctx.store.session() as s:
            for track_id, alert_id in sink.alert_ids.items():
                span = pipeline.finished_tracks.get(track_id)
                if span:
                    s.execute(
                        update(m.Alert).where(m.Alert.id == alert_id).values(last_frame=span[1])
                    )
    except StoreFull as exc:  # the alerts stand; only their tracks' last frames are missing
        log.error("last frames of alerts %s not saved: %s", sorted(sink.alert_ids.values()), exc)


def _save_counters(
    ctx: AppContext,
    counter_id: int,
    pipeline: LivePipeline | None,
    runner: CameraRunner | None,
    cs: CameraSummary,
    reason: str | None,
) -> None:
    if pipeline is not None:
        c = pipeline.counters
        cs.frames, cs.faces, cs.tracks, cs.embedded, cs.alerts = (
            c.frames,
            c.faces,
            c.tracks,
            c.embedded,
            c.alerts,
        )
    if runner is not None:
        cs.dropped = runner.stats.frames_dropped
    values: dict[str, object] = dict(
        frames=cs.frames,
        frames_dropped=cs.dropped,
        faces=cs.faces,
        tracks=cs.tracks,
        embedded=cs.embedded,
        updated_at=utcnow(),  # the heartbeat (service.recovery)
    )
    if reason is not None:
        cs.end_reason = reason
        values.update(ended_at=utcnow(), end_reason=reason)
    try:
        with ctx.store.session() as s:
            s.execute(
                update(m.DeploymentCounter)
                .where(m.DeploymentCounter.id == counter_id)
                .values(**values)
            )
    except StoreFull as exc:
        if reason is None:
            raise  # a periodic save: the camera stops with "store full: ..."
        log.error("final counters of camera %s not saved (%s): %s", cs.camera, reason, exc)
