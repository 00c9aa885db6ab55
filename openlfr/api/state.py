"""What the app holds for its lifetime: settings, the store, models, the live hub, metrics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from openlfr.api.metrics import ServiceMetrics
from openlfr.api.security import LoginLimiter
from openlfr.config import Settings
from openlfr.service.context import AppContext
from openlfr.store import Store

if TYPE_CHECKING:
    from openlfr.api.live import AlertHub
    from openlfr.service.run_manager import RunManager


@dataclass
class ServiceState:
    settings: Settings
    store: Store
    metrics: ServiceMetrics
    limiter: LoginLimiter
    base: AppContext
    hub: AlertHub | None = None
    runs: RunManager | None = None

    def context(self, actor: str, *, models: bool = False) -> AppContext:
        """A use-case context acting as ``actor``, sharing the base's models (loaded once, on
        first need, so a request that lists alerts never waits for them). ``models``: load
        them now, before the use-case starts a transaction."""
        if models:
            _ = self.base.detector, self.base.embedder
        return dataclasses.replace(self.base, actor=actor)

    @classmethod
    def open(cls, settings: Settings, store: Store | None = None) -> ServiceState:
        from openlfr.store import open_store

        store = store or open_store(settings.store)
        web = settings.web
        return cls(
            settings=settings,
            store=store,
            metrics=ServiceMetrics(),
            limiter=LoginLimiter(
                store, web.login_max_failures, web.login_max_failures_per_ip, web.login_window_s
            ),
            base=AppContext(settings=settings, store=store, actor="operator-service"),
        )
