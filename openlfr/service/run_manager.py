"""Deployments started from the operator service, each in a background thread of its process.
A use-case like any other: the start is checked (R5) and audited here, the run itself is
`service.runs.run_deployment`, and a stop is asked through the store (`run_control`), so the
same request stops a run in another process too."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.run_control import request_stop
from openlfr.service.runs import check_may_run, run_deployment
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m

log = logging.getLogger("openlfr.service")


class RunManager:
    """`context_for(actor, models)`: a use-case context acting as `actor`, with the models
    loaded when `models` (the service shares one loaded copy between runs)."""

    def __init__(self, context_for: Callable[[str, bool], AppContext]) -> None:
        self._context_for = context_for
        self._runs: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self.errors: dict[int, str] = {}
        self._lock = threading.Lock()

    def running(self) -> list[int]:
        with self._lock:
            return [d for d, (t, _) in self._runs.items() if t.is_alive()]

    def start(self, deployment_id: int, actor: str) -> None:
        if deployment_id in self.running():
            raise RuleViolation("R5", f"deployment {deployment_id} is already running")
        with self._context_for(actor, False).store.session() as s:
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
            ctx = self._context_for(actor, True)
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
        request_stop(self._context_for(actor, False), deployment_id)

    def shutdown(self, timeout: float = 10.0) -> None:
        with self._lock:
            runs = list(self._runs.values())
        for _, stop in runs:
            stop.set()
        for thread, _ in runs:
            thread.join(timeout)
