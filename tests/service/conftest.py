"""Service fixtures: a real store on a SQLite file in tmp_path, the real models loaded once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    """The configured detector and embedder, loaded once for the whole session."""
    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture
def ctx(tmp_path: Path, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp_path / "store")})
    detector, embedder = models
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = detector, embedder
    try:
        yield context
    finally:
        context.close()
