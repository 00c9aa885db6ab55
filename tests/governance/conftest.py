"""Governance fixtures: the real models loaded once, a store on a SQLite file in tmp_path, and
the world of ``gov_support.build_world``; ``bctx``/``bworld`` are the same on the test's backend
(SQLite, and PostgreSQL when OPENLFR_TEST_PG_URL is set: the root ``store_settings``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gov_support import World, build_world, open_ctx

from openlfr.config import Settings, StoreSettings, VideoSettings
from openlfr.service.context import AppContext
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture
def ctx(tmp_path: Path, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    context = open_ctx(tmp_path, models)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def world(ctx: AppContext) -> World:
    return build_world(ctx)


@pytest.fixture
def bctx(store_settings: StoreSettings, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(
        update={"store": store_settings, "video": VideoSettings(realtime=False)}
    )
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = models
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def bworld(bctx: AppContext) -> World:
    return build_world(bctx)
