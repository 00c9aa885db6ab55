"""Retention on a schedule: the long-running runner purges once at start and then every
``governance.purge_interval_minutes`` in a background thread until the run ends.

A failed purge is logged and kept in ``errors`` and tried again at the next tick: a locked
database or a full disk must not stop a live deployment, and the next tick catches up because
``plan_purge`` works from due dates, not from "what changed since last time".
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from openlfr.service.context import AppContext
from openlfr.service.retention import purge

log = logging.getLogger(__name__)

#: Who the audit log names for a scheduled purge: no person acted, the retention policy did.
SCHEDULER_ACTOR = "system:retention-scheduler"


class PurgeScheduler:
    def __init__(
        self,
        ctx: AppContext,
        *,
        interval_s: float | None = None,
        on_tick: Callable[[], None] | None = None,
        name: str = "purge-scheduler",
    ) -> None:
        minutes = ctx.settings.governance.purge_interval_minutes
        self._ctx = ctx
        self.interval_s = interval_s if interval_s is not None else minutes * 60.0
        #: Called after each purge (the runner drops withdrawn images from its search here).
        self.on_tick = on_tick
        self.runs = 0
        self.erased = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def tick(self) -> None:
        """One purge (and ``on_tick``) now; never raises."""
        try:
            report = purge(self._ctx, actor=SCHEDULER_ACTOR)
            self.runs += 1
            self.erased += sum(1 for step in report.steps if step.done)
            if self.on_tick is not None:
                self.on_tick()
        except Exception as exc:
            log.exception("scheduled purge failed; retrying at the next tick")
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def start(self) -> PurgeScheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.tick()
