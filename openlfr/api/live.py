"""The live side of the service: runs started from the browser, and the alert/health feed.

Alerts reach operators by polling the alerts table for ids above the last one seen, not by a
hook in the runner: a deployment run by a separate `openlfr deployment run` process (or another
machine on the same PostgreSQL) is then picked up exactly like one run in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from typing import Any

from sqlalchemy import func, select

from openlfr.api.state import ServiceState
from openlfr.errors import RuleViolation
from openlfr.service.context import utcnow
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.service.run_control import request_stop
from openlfr.service.runs import check_may_run, run_deployment
from openlfr.store import AlertStatus, AuditAction, DeploymentStatus, append_audit
from openlfr.store import models as m

log = logging.getLogger("openlfr.api")


def alert_payload(a: m.Alert, camera: str, ref: str, category: str, dep: str) -> dict[str, Any]:
    """What an operator's queue shows of an alert; the images are fetched apart (audited)."""
    return {
        "id": a.id,
        "deployment_id": a.deployment_id,
        "deployment": dep,
        "camera": camera,
        "subject_ref": ref,
        "category": category,
        "score": round(a.score, 4),
        "raised_at": a.raised_at.isoformat(),
        "status": a.status,
        "outcome": a.outcome,
    }


def alerts_query() -> Any:
    return (
        select(m.Alert, m.Camera.name, m.Subject.reference, m.Subject.category, m.Deployment.name)
        .join(m.Camera, m.Camera.id == m.Alert.camera_id)
        .join(m.Subject, m.Subject.id == m.Alert.subject_id)
        .join(m.Deployment, m.Deployment.id == m.Alert.deployment_id)
        .order_by(m.Alert.id)
    )


class AlertHub:
    """Polls for new alerts and camera counters; pushes both to every connected operator."""

    def __init__(self, svc: ServiceState) -> None:
        self.svc = svc
        self.subscribers: dict[int, tuple[asyncio.Queue[dict[str, Any]], str]] = {}
        self.health: list[dict[str, Any]] = []
        self._prev: dict[int, tuple[int, float]] = {}
        self._rate: dict[int, float] = {}
        self._labels: set[tuple[str, str]] = set()
        with svc.store.session() as s:
            # Alerts already in the store are listed when a page loads; only newer ones are pushed.
            self.last_id = int(s.scalar(select(func.max(m.Alert.id))) or 0)
        # Decisions taken after this instant (by any operator, in any process) are pushed too,
        # so that a page showing an alert another operator has just closed says so.
        self.last_change = utcnow()

    def subscribe(self, username: str) -> tuple[int, asyncio.Queue[dict[str, Any]]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        key = id(q)
        self.subscribers[key] = (q, username)
        self.svc.metrics.ws_clients.set(len(self.subscribers))
        return key, q

    def unsubscribe(self, key: int) -> None:
        self.subscribers.pop(key, None)
        self.svc.metrics.ws_clients.set(len(self.subscribers))

    async def run(self, stop: asyncio.Event) -> None:
        web = self.svc.settings.web
        next_health = 0.0
        while not stop.is_set():
            try:
                users = sorted({u for _, u in self.subscribers.values()})
                for alert in await asyncio.to_thread(self.poll_alerts, users):
                    self._broadcast({"type": "alert", "alert": alert})
                for change in await asyncio.to_thread(self.poll_decisions):
                    self._broadcast({"type": "update", "alert": change})
                if time.monotonic() >= next_health:
                    next_health = time.monotonic() + web.health_poll_s
                    await asyncio.to_thread(self.recover_lost_runs)
                    self.health = await asyncio.to_thread(self.poll_health)
                    self._broadcast({"type": "health", "cameras": self.health})
            except Exception:  # a failed poll (database busy) must not end the feed
                log.exception("live poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=web.alert_poll_s)

    def _broadcast(self, message: dict[str, Any]) -> None:
        for q, _ in list(self.subscribers.values()):
            if not q.full():  # a stalled browser loses messages; it reloads the list on reconnect
                q.put_nowait(message)

    def poll_alerts(self, users: list[str]) -> list[dict[str, Any]]:
        metrics = self.svc.metrics
        with self.svc.store.session() as s:
            rows = s.execute(alerts_query().where(m.Alert.id > self.last_id).limit(200)).all()
            out = [alert_payload(*row) for row in rows]
            now = utcnow()
            for a, *_ in rows:
                metrics.alerts.inc()
                metrics.latency.observe(max(0.0, (now - a.raised_at).total_seconds()))
                if a.frame_at is not None:  # None: raised before capture times were stored
                    face = (a.raised_at - a.frame_at).total_seconds()
                    metrics.face_to_alert.observe(max(0.0, face))
            if out:
                self.last_id = out[-1]["id"]
                # Pushing an alert shows a watchlist reference to each connected operator.
                for user in users:
                    append_audit(
                        s,
                        actor=user,
                        action=AuditAction.CONSULTATION,
                        event="alert_pushed",
                        object_type="alert",
                        object_id=",".join(str(a["id"]) for a in out[:50]),
                        justification="live alert queue on the operator page",
                    )
            pending = s.scalar(
                select(func.count(m.Alert.id)).where(m.Alert.status == AlertStatus.PENDING.value)
            )
            metrics.queue_depth.set(int(pending or 0))
        return out

    def poll_decisions(self) -> list[dict[str, Any]]:
        """Alerts adjudicated or given an outcome since the last poll: ids, states and who
        decided; no reference or image (those went out, audited, with the alert itself)."""
        since = self.last_change
        with self.svc.store.session() as s:
            rows = list(
                s.scalars(
                    select(m.Alert)
                    .where((m.Alert.adjudicated_at > since) | (m.Alert.outcome_at > since))
                    .order_by(m.Alert.id)
                    .limit(500)
                )
            )
            out = []
            for a in rows:
                stamps = [t for t in (a.adjudicated_at, a.outcome_at) if t is not None]
                self.last_change = max([self.last_change, *stamps])
                by = a.outcome_by if a.outcome_at and a.outcome_at > since else a.adjudicated_by
                out.append({"id": a.id, "status": a.status, "outcome": a.outcome, "by": by})
        return out

    def recover_lost_runs(self) -> None:
        """Ends live deployments whose runner (in any process) has stopped beating."""
        for run in recover_abandoned_runs(self.svc.context("operator-service"), utcnow()):
            log.warning("deployment %s ended: %s", run.deployment_id, run.reason)

    def poll_health(self) -> list[dict[str, Any]]:
        with self.svc.store.session() as s:
            rows = s.execute(
                select(m.DeploymentCounter, m.Camera.name, m.Deployment.name)
                .join(m.Camera, m.Camera.id == m.DeploymentCounter.camera_id)
                .join(m.Deployment, m.Deployment.id == m.DeploymentCounter.deployment_id)
                .where(
                    m.Deployment.status == DeploymentStatus.LIVE.value,
                    m.DeploymentCounter.ended_at.is_(None),
                )
                .order_by(m.DeploymentCounter.id)
            ).all()
        now = time.monotonic()
        stale_after = 2 * self.svc.settings.web.health_poll_s + 3.0
        out, seen = [], set()
        for c, camera, dep in rows:
            prev = self._prev.get(c.id)
            if prev is None or c.frames != prev[0]:
                if prev is not None and now > prev[1] and c.frames > prev[0]:
                    self._rate[c.id] = (c.frames - prev[0]) / (now - prev[1])
                self._prev[c.id] = (c.frames, now)
            elif now - prev[1] > stale_after:
                self._rate[c.id] = 0.0  # counters stopped moving: the camera is stalled
            fps = self._rate.get(c.id, 0.0)
            label = (str(c.deployment_id), camera)
            seen.add(label)
            self.svc.metrics.fps.labels(*label).set(fps)
            self.svc.metrics.dropped.labels(*label).set(c.frames_dropped)
            out.append(
                {
                    "deployment_id": c.deployment_id,
                    "deployment": dep,
                    "camera": camera,
                    "fps": round(fps, 1),
                    "frames": c.frames,
                    "dropped": c.frames_dropped,
                    "faces": c.faces,
                }
            )
        for label in self._labels - seen:  # ended cameras stop being reported
            self.svc.metrics.fps.remove(*label)
            self.svc.metrics.dropped.remove(*label)
        self._labels = seen
        return out


class RunManager:
    """Deployments started from the browser, each in a background thread of this process."""

    def __init__(self, svc: ServiceState) -> None:
        self.svc = svc
        self._runs: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self.errors: dict[int, str] = {}
        self._lock = threading.Lock()

    def running(self) -> list[int]:
        with self._lock:
            return [d for d, (t, _) in self._runs.items() if t.is_alive()]

    def start(self, deployment_id: int, actor: str) -> None:
        if deployment_id in self.running():
            raise RuleViolation("R5", f"deployment {deployment_id} is already running")
        with self.svc.store.session() as s:
            # Checked here as well as in run_deployment, so a refusal is the answer to the
            # request rather than a silent failure in a background thread.
            check_may_run(s.get(m.Deployment, deployment_id), deployment_id)
            append_audit(
                s,
                actor=actor,
                action=AuditAction.COLLECTION,
                event="deployment_started",
                object_type="deployment",
                object_id=deployment_id,
                justification="deployment started from the operator service",
            )
        with self._lock:
            if deployment_id in self._runs and self._runs[deployment_id][0].is_alive():
                raise RuleViolation("R5", f"deployment {deployment_id} is already running")
            ctx = self.svc.context(actor, models=True)
            stop = threading.Event()

            def target() -> None:
                try:
                    run_deployment(ctx, deployment_id, stop=stop)
                except Exception as exc:  # reported on the page; the thread must not die loudly
                    log.exception("deployment %s failed", deployment_id)
                    self.errors[deployment_id] = str(exc)

            thread = threading.Thread(
                target=target, name=f"deployment-{deployment_id}", daemon=True
            )
            self._runs[deployment_id] = (thread, stop)
            thread.start()

    def request_stop(self, deployment_id: int, actor: str) -> None:
        """Asks whichever process runs the deployment (this one or a separate `openlfr
        deployment run`) to stop it; the runner ends within a counter save (~2 s) with
        "stopped by <actor>". Audited; refused (R5) when the deployment is not live."""
        request_stop(self.svc.context(actor), deployment_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for _, stop in runs:
            stop.set()
        for thread, _ in runs:
            thread.join(timeout)
