"""Service fixtures: a real store on the test's backend (the root ``store_settings``: a SQLite
file, and a fresh PostgreSQL schema), the root session's real models (loaded once)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture
def ctx(store_settings: StoreSettings, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(update={"store": store_settings})
    detector, embedder = models
    context = AppContext.open(settings, actor="pc.tester")
    context.use_models(detector, embedder)
    try:
        yield context
    finally:
        context.close()
