"""What every use-case needs: settings, the open store, the acting person, the models."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from openlfr.config import Settings
from openlfr.store import Store, open_store
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class LoadedModels:
    """The models of one context and of every copy made of it (`dataclasses.replace` keeps this
    object, not its contents): a request's copy that loads the embedder loads it for all, once,
    instead of each request loading a private copy of ~40 MB that dies with it."""

    detector: Detector | None = None
    embedder: Embedder | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass
class AppContext:
    settings: Settings
    store: Store
    actor: str
    models: LoadedModels = field(default_factory=LoadedModels, repr=False)

    @classmethod
    def open(cls, settings: Settings, actor: str) -> AppContext:
        return cls(settings=settings, store=open_store(settings.store), actor=actor)

    @property
    def detector(self) -> Detector:
        m = self.models
        if m.detector is None:  # models load on first use: listing alerts needs none
            with m.lock:
                if m.detector is None:
                    m.detector = build_detector(self.settings.vision)
        return m.detector

    @property
    def embedder(self) -> Embedder:
        m = self.models
        if m.embedder is None:
            with m.lock:
                if m.embedder is None:
                    m.embedder = build_embedder(self.settings.vision)
        return m.embedder

    def use_models(self, detector: Detector, embedder: Embedder) -> None:
        """Models built elsewhere (a test's session-wide pair, a worker's cache) for this
        context and its copies."""
        self.models.detector, self.models.embedder = detector, embedder

    def close(self) -> None:
        self.store.dispose()
