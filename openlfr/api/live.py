"""The alert/health feed of the service: polls the store (through service.alert_feed, which
audits every push) and pushes new alerts, decisions and camera health to every connected
operator. Runs started from the browser: service.run_manager."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

from openlfr.api.metrics import ServiceMetrics
from openlfr.config import Settings
from openlfr.service.alert_feed import (
    decisions_since,
    last_alert_id,
    last_sighting_id,
    live_counters,
    new_alerts,
    new_sightings,
)
from openlfr.service.context import AppContext, utcnow
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.store import Store

log = logging.getLogger("openlfr.api")


class HubHost(Protocol):
    """What the hub needs of the service (api.state.ServiceState has it)."""

    settings: Settings
    store: Store
    metrics: ServiceMetrics

    def context(self, actor: str, *, models: bool = False) -> AppContext: ...


class AlertHub:
    """Polls for new alerts and camera counters; pushes both to every connected operator."""

    def __init__(self, svc: HubHost) -> None:
        self.svc = svc
        self.subscribers: dict[int, tuple[asyncio.Queue[dict[str, Any]], str]] = {}
        self.health: list[dict[str, Any]] = []
        self._prev: dict[int, tuple[int, float]] = {}
        self._rate: dict[int, float] = {}
        self._labels: set[tuple[str, str]] = set()
        # Alerts already in the store are listed when a page loads; only newer ones are pushed.
        self.last_id = last_alert_id(svc.store)
        # Decisions taken after this instant (by any operator, in any process) are pushed too,
        # so that a page showing an alert another operator has just closed says so.
        self.last_change = utcnow()
        # A person seen again joins their open alert (issue 12): the page's alert gains a row.
        self.last_sighting = last_sighting_id(svc.store)

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
                ups, self.last_sighting = await asyncio.to_thread(
                    new_sightings, self.svc.store, self.last_sighting
                )
                for up in ups:
                    self._broadcast({"type": "sighting", "alert": up})
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
        got = new_alerts(self.svc.store, self.last_id, users)
        for delay in got.delays_s:
            metrics.alerts.inc()
            metrics.latency.observe(delay)
        for face in got.face_to_alert_s:
            metrics.face_to_alert.observe(face)
        if got.payloads:
            self.last_id = got.payloads[-1]["id"]
        metrics.queue_depth.set(got.pending)
        return got.payloads

    def poll_decisions(self) -> list[dict[str, Any]]:
        out, self.last_change = decisions_since(self.svc.store, self.last_change)
        return out

    def recover_lost_runs(self) -> None:
        """Ends live deployments whose runner (in any process) has stopped beating."""
        for run in recover_abandoned_runs(self.svc.context("operator-service"), utcnow()):
            log.warning("deployment %s ended: %s", run.deployment_id, run.reason)

    def poll_health(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        stale_after = 2 * self.svc.settings.web.health_poll_s + 3.0
        out, seen = [], set()
        for c in live_counters(self.svc.store):
            prev = self._prev.get(c.counter_id)
            if prev is None or c.frames != prev[0]:
                if prev is not None and now > prev[1] and c.frames > prev[0]:
                    self._rate[c.counter_id] = (c.frames - prev[0]) / (now - prev[1])
                self._prev[c.counter_id] = (c.frames, now)
            elif now - prev[1] > stale_after:
                self._rate[c.counter_id] = 0.0  # counters stopped moving: the camera is stalled
            fps = self._rate.get(c.counter_id, 0.0)
            label = (str(c.deployment_id), c.camera)
            seen.add(label)
            self.svc.metrics.fps.labels(*label).set(fps)
            self.svc.metrics.dropped.labels(*label).set(c.dropped)
            out.append(
                {
                    "deployment_id": c.deployment_id,
                    "deployment": c.deployment,
                    "camera": c.camera,
                    "fps": round(fps, 1),
                    "frames": c.frames,
                    "dropped": c.dropped,
                    "faces": c.faces,
                }
            )
        for label in self._labels - seen:  # ended cameras stop being reported
            self.svc.metrics.fps.remove(*label)
            self.svc.metrics.dropped.remove(*label)
        self._labels = seen
        return out
