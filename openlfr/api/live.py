"""The alert/health feed of the service: one poller per process reads the store (through
service.alert_feed, which audits every push) and hands each new batch of alerts, decisions and
camera health to every connected operator's socket. Runs started from the browser:
service.run_manager.

Each message is serialised once and queued, bounded, on every socket; a socket that falls
``SOCKET_QUEUE`` messages behind is closed with ``SLOW_CLOSE`` (the page reconnects and reloads
its list) rather than silently losing alerts or holding the others up. Sessions are checked
again for every socket at once every ``RECHECK_S``: a log-out, a disabled account or a role
taken away closes the feed (4401 / 4403), as it ends the page's requests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

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
from openlfr.service.sessions import standing_roles
from openlfr.store import Store
from openlfr.store.models_accounts import Role, SessionKind

log = logging.getLogger("openlfr.api")

SOCKET_QUEUE = 256  # messages (one per poll at most, plus health) a socket may fall behind
SLOW_CLOSE = 4408  # the client did not keep up; the page reconnects and reloads its list
RECHECK_S = 2.0  # how often every open feed's session is looked up again


class HubHost(Protocol):
    """What the hub needs of the service (api.state.ServiceState has it)."""

    settings: Settings
    store: Store
    metrics: ServiceMetrics

    def context(self, actor: str, *, models: bool = False) -> AppContext: ...


@dataclass(eq=False)
class Subscriber:
    """One open /ws/alerts: whose session (its token's digest) and what waits to be sent."""

    username: str
    digest: str
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SOCKET_QUEUE))
    closing: tuple[int, str] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def close(self, code: int, reason: str) -> None:
        if self.closing is None:
            self.closing = (code, reason)
            self.closed.set()


def _quiet(task: asyncio.Task[Any]) -> None:
    """Takes a finished helper task's exception (a disconnect) so asyncio does not log it."""
    if not task.cancelled():
        task.exception()


class AlertHub:
    """Polls for new alerts and camera counters once; pushes both to every connected operator."""

    def __init__(self, svc: HubHost) -> None:
        self.svc = svc
        self.subscribers: set[Subscriber] = set()
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

    def subscribe(self, username: str, digest: str) -> Subscriber:
        sub = Subscriber(username, digest)
        sub.queue.put_nowait(json.dumps({"type": "health", "cameras": self.health}))
        self.subscribers.add(sub)
        self.svc.metrics.ws_clients.set(len(self.subscribers))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        self.svc.metrics.ws_clients.set(len(self.subscribers))

    async def serve(self, ws: WebSocket, username: str, digest: str) -> None:
        """Feeds an accepted socket until the client leaves or the hub closes it."""
        sub = self.subscribe(username, digest)
        tasks = [
            asyncio.create_task(self._pump(ws, sub)),
            asyncio.create_task(ws.receive_text()),  # the client speaks only to close
            asyncio.create_task(sub.closed.wait()),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.unsubscribe(sub)
            for t in tasks:  # not awaited: the server may be cancelling this very handler
                t.cancel()
                t.add_done_callback(_quiet)
        if sub.closing is not None:
            # Bounded: a client that stopped reading may never take the close frame either.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(code=sub.closing[0], reason=sub.closing[1]), 2)

    @staticmethod
    async def _pump(ws: WebSocket, sub: Subscriber) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await ws.send_text(await sub.queue.get())

    def publish(self, message: dict[str, Any], to: list[Subscriber] | None = None) -> None:
        """Queues ``message`` (serialised once) on ``to`` (every subscriber by default)."""
        text = json.dumps(message)
        for sub in list(self.subscribers) if to is None else to:
            if sub.closing is not None or sub not in self.subscribers:
                continue
            if sub.queue.full():
                log.warning("alert feed of %s closed: %s messages behind", sub.username,
                            SOCKET_QUEUE)  # fmt: skip
                sub.close(SLOW_CLOSE, "too slow for the alert feed; reload")
            else:
                sub.queue.put_nowait(text)

    async def run(self, stop: asyncio.Event) -> None:
        web = self.svc.settings.web
        next_health = next_check = 0.0
        while not stop.is_set():
            # Paced from the start of each poll, so its own work does not lengthen the period.
            next_poll = time.monotonic() + web.alert_poll_s
            try:
                # Pushed only to the sockets whose users the read audited as shown them; one
                # that joins meanwhile loads the list itself (an audited request).
                audience = [s for s in self.subscribers if s.closing is None]
                users = sorted({s.username for s in audience})
                alerts = await asyncio.to_thread(self.poll_alerts, users)
                if alerts:
                    self.publish({"type": "alerts", "alerts": alerts}, audience)
                for change in await asyncio.to_thread(self.poll_decisions):
                    self.publish({"type": "update", "alert": change})
                ups, self.last_sighting = await asyncio.to_thread(
                    new_sightings, self.svc.store, self.last_sighting
                )
                for up in ups:
                    self.publish({"type": "sighting", "alert": up})
                if time.monotonic() >= next_check:
                    next_check = time.monotonic() + RECHECK_S
                    await self.recheck_sessions()
                if time.monotonic() >= next_health:
                    next_health = time.monotonic() + web.health_poll_s
                    await asyncio.to_thread(self.recover_lost_runs)
                    self.health = await asyncio.to_thread(self.poll_health)
                    self.publish({"type": "health", "cameras": self.health})
            except Exception:  # a failed poll (database busy) must not end the feed
                log.exception("live poll failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, next_poll - time.monotonic()))

    async def recheck_sessions(self) -> None:
        """A log-out, a disabled account or a role taken away ends the feed too, not only new
        requests: every open feed's session is looked up again, in one query."""
        subs = [s for s in self.subscribers if s.closing is None]
        if not subs:
            return
        roles = await asyncio.to_thread(
            standing_roles, self.svc.store, {s.digest for s in subs}, SessionKind.COOKIE
        )
        for sub in subs:
            role = roles.get(sub.digest)
            if role is None:
                sub.close(4401, "session ended")
            elif role is not Role.OPERATOR:
                sub.close(4403, "alert feed needs an operator's session")

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
