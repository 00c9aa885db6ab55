"""Runs cameras of a deployment in this process: in the supervisor's own (the in-process
engine) or in a worker's (a Ray actor), from picklable `CameraJob`s.

Each camera writes its own deployment_counters row (made at start, saved every
`COUNTER_SAVE_S` and before each alert, finally with its end reason) and its alerts (sealed,
audited) to the store. A worker that is not the supervisor (`live` not given) opens the store
from the job's settings, loads the watchlist itself, and watches the store for what ends a run:
a stop asked for, the deployment no longer live, the authorised end (R5), and images withdrawn
meanwhile (R11), so that a remote camera stops even if its driver is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import update

from openlfr.engines.protocols import CameraJob, CameraReport
from openlfr.errors import SourceError, StoreFull
from openlfr.matching.protocols import GalleryIndex
from openlfr.pipeline.camera_loop import CameraLoop, LoopCounters, Progress
from openlfr.pipeline.inference import InferenceStage
from openlfr.service.alert_sink import StoreAlertSink
from openlfr.service.context import AppContext, utcnow
from openlfr.service.run_control import COUNTER_SAVE_S, LiveSearch, poll_run
from openlfr.service.watchlists import load_gallery, rebuild_gallery, withdrawn_images
from openlfr.store import models as m
from openlfr.video.runner import CameraRunner
from openlfr.video.sources import open_source
from openlfr.video.stamp import CaptureTimes

log = logging.getLogger(__name__)


class CameraControl:
    """A camera's `LoopControl`: the run's live search, its authorised end, its stop event."""

    def __init__(self, live: LiveSearch, end_at: datetime, stop: threading.Event) -> None:
        self._live, self._end_at, self._stop = live, end_at, stop

    def gallery(self) -> tuple[int, GalleryIndex]:
        return self._live.gallery()

    def why_stop(self) -> str | None:
        if self._live.stop_reason is not None:
            return self._live.stop_reason
        if self._live.window_closed.is_set() or utcnow() >= self._end_at:
            return "authorised window ended"
        if self._stop.is_set():
            return "stopped by operator"
        return None

    def add_runner(self, runner: CameraRunner) -> None:
        self._live.add_runner(runner)


def run_camera_jobs(
    jobs: list[CameraJob],
    stop: threading.Event,
    *,
    ctx: AppContext | None = None,
    live: LiveSearch | None = None,
    progress: Progress | None = None,
) -> list[CameraReport]:
    """Runs every job on its own thread, one shared inference stage, until each ends."""
    if not jobs:
        return []
    own_ctx = ctx is None
    ctx = ctx or AppContext.open(jobs[0].settings, actor="system")
    try:
        standalone = live is None
        if live is None:
            dep = jobs[0].deployment_id
            gallery, entries = load_gallery(
                ctx, jobs[0].watchlist_id, justification=f"watchlist searched by deployment {dep}"
            )
            live = LiveSearch(gallery, entries)
        stage: InferenceStage | None = None
        model_error = ""
        try:
            workers = jobs[0].settings.vision.inference_workers
            stage = InferenceStage.for_cameras(
                ctx.detector, ctx.embedder, len(jobs), workers
            ).start()
        except Exception as exc:  # every camera ends with the reason, its counters saved
            model_error = f"error: {exc}"
        reports = [CameraReport(job.camera_name) for job in jobs]

        def one(i: int) -> None:
            reports[i] = run_camera(ctx, jobs[i], live, stage, stop, progress, model_error)

        threads = [
            threading.Thread(target=one, args=(i,), name=f"camera-{job.camera_name}", daemon=True)
            for i, job in enumerate(jobs)
        ]
        done = threading.Event()
        watcher = threading.Thread(
            target=_watch, args=(ctx, jobs[0], live, stop, done, standalone), daemon=True
        )
        for t in threads:
            t.start()
        watcher.start()
        for t in threads:
            t.join()
        done.set()
        watcher.join()
        if stage is not None:
            stage.close()
        return reports
    finally:
        if own_ctx:
            ctx.close()


def _watch(
    ctx: AppContext,
    job: CameraJob,
    live: LiveSearch,
    stop: threading.Event,
    done: threading.Event,
    standalone: bool,
) -> None:
    """Ends waits for frames on a stop; a standalone worker also watches the store."""
    next_poll = next_purge = time.monotonic()
    purge_every = 60.0 * ctx.settings.governance.purge_interval_minutes
    while not done.wait(0.2):
        if stop.is_set():
            live.stop_runners()
        if not standalone or time.monotonic() < next_poll:
            continue
        next_poll = time.monotonic() + COUNTER_SAVE_S
        if utcnow() >= job.end_at and not live.window_closed.is_set():
            live.close_window()
        try:
            who = poll_run(ctx, job.deployment_id)
            if who is not None and live.stop_reason is None:
                live.halt(f"stopped by {who}")
            if time.monotonic() >= next_purge:
                next_purge = time.monotonic() + purge_every
                drop_withdrawn(ctx, job.deployment_id, live)
        except Exception:  # a busy store must not end a live camera; the next poll retries
            log.warning("deployment %s: store poll failed", job.deployment_id, exc_info=True)


def drop_withdrawn(ctx: AppContext, deployment_id: int, live: LiveSearch) -> list[int]:
    """R11 during a run: images withdrawn since the start leave the search from the next frame."""
    gone = withdrawn_images(ctx, [e.reference_image_id for e in live.entries]) - live.excluded
    if gone:
        live.excluded |= gone
        live.replace(
            rebuild_gallery(
                ctx,
                live.entries,
                exclude=live.excluded,
                justification=f"images withdrawn under R11 dropped from the search of "
                f"deployment {deployment_id}",
            )
        )
    return sorted(gone)


def run_camera(
    ctx: AppContext,
    job: CameraJob,
    live: LiveSearch,
    stage: InferenceStage | None,
    stop: threading.Event,
    progress: Progress | None = None,
    model_error: str = "",
) -> CameraReport:
    """One camera, to its end; never raises for the camera's own failure (see end_reason)."""
    report = CameraReport(job.camera_name)
    captured = CaptureTimes()
    sink = StoreAlertSink(ctx, job.deployment_id, job.camera_db_id, live.entries, captured)
    try:
        with ctx.store.session() as s:
            counter = m.DeploymentCounter(
                deployment_id=job.deployment_id, camera_id=job.camera_db_id
            )
            s.add(counter)
            s.flush()
            counter_id = counter.id
    except StoreFull as exc:  # the camera never starts: nothing it saw could be recorded
        log.error(
            "deployment %s camera %s not started: %s", job.deployment_id, job.camera_name, exc
        )
        report.end_reason = str(exc)
        return report
    reason = model_error or "source ended"
    loop: CameraLoop | None = None
    counters = LoopCounters()
    try:
        if stage is not None:
            try:
                source = open_source(job.source, job.camera_name, ctx.settings.video)
            except SourceError as exc:  # checked at drafting, but a file can go missing since
                reason = f"cannot open source: {exc}"
            else:
                loop = CameraLoop(
                    source=source,
                    stage=stage,
                    sink=sink,
                    settings=ctx.settings,
                    threshold=job.threshold,
                    control=CameraControl(live, job.end_at, stop),
                    captured=captured,
                    on_save=lambda c: _save_counters(ctx, counter_id, c, None),
                    save_every_s=COUNTER_SAVE_S,
                    progress=progress,
                )
                reason = loop.run()
                counters = loop.counters()
    except Exception as exc:  # the run ends, but its counters must still be saved
        reason = f"error: {exc}"
    finally:
        try:
            if loop is not None:
                _close_alerts(ctx, sink, loop.finished_tracks)
        finally:
            _save_counters(ctx, counter_id, counters, reason)
            _fill(report, counters, reason, sorted(sink.alert_ids.values()))
    return report


def _fill(report: CameraReport, c: LoopCounters, reason: str, alert_ids: list[int]) -> None:
    report.frames, report.skipped, report.dropped = c.frames, c.skipped, c.dropped
    report.faces, report.tracks, report.embedded = c.faces, c.tracks, c.embedded
    report.alerts, report.reconnects, report.down_s = c.alerts, c.reconnects, c.down_s
    report.end_reason, report.alert_ids = reason, alert_ids


def _close_alerts(
    ctx: AppContext, sink: StoreAlertSink, finished: dict[int, tuple[int, int]]
) -> None:
    try:
        with ctx.store.session() as s:
            for track_id, alert_id in sink.alert_ids.items():
                span = finished.get(track_id)
                if span:
                    s.execute(
                        update(m.Alert).where(m.Alert.id == alert_id).values(last_frame=span[1])
                    )
    except StoreFull as exc:  # the alerts stand; only their tracks' last frames are missing
        log.error("last frames of alerts %s not saved: %s", sorted(sink.alert_ids.values()), exc)


def _save_counters(ctx: AppContext, counter_id: int, c: LoopCounters, reason: str | None) -> None:
    values: dict[str, object] = dict(
        frames=c.frames,
        frames_skipped=c.skipped,
        frames_dropped=c.dropped,
        faces=c.faces,
        tracks=c.tracks,
        embedded=c.embedded,
        reconnects=c.reconnects,
        down_s=round(c.down_s, 3),
        updated_at=utcnow(),  # the heartbeat (service.recovery)
    )
    if reason is not None:
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
        log.error("final counters of camera %s not saved (%s): %s", counter_id, reason, exc)
