"""What every use-case needs: settings, the open store, the acting person, the models."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from openlfr.config import Settings
from openlfr.store import Store, open_store
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    store: Store
    actor: str
    _detector: Detector | None = field(default=None, repr=False)
    _embedder: Embedder | None = field(default=None, repr=False)

    @classmethod
    def open(cls, settings: Settings, actor: str) -> AppContext:
        return cls(settings=settings, store=open_store(settings.store), actor=actor)

    @property
    def detector(self) -> Detector:
        if self._detector is None:  # models load on first use: listing alerts needs none
            self._detector = build_detector(self.settings.vision)
        return self._detector

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = build_embedder(self.settings.vision)
        return self._embedder

    def close(self) -> None:
        self.store.dispose()
