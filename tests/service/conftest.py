"""Service fixtures: a real store, on a SQLite file in tmp_path and (when OPENLFR_TEST_PG_URL is
set) on a fresh PostgreSQL schema, with the real models loaded once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.store.crypto import generate_key
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"
PG_URL = os.environ.get("OPENLFR_TEST_PG_URL")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not PG_URL, reason="OPENLFR_TEST_PG_URL is not set"),
        ],
    ),
]


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    """The configured detector and embedder, loaded once for the whole session."""
    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture(params=BACKENDS)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreSettings]:
    if request.param == "sqlite":
        yield StoreSettings(data_dir=tmp_path / "store")
        return
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield StoreSettings(data_dir=tmp_path / "store", database_url=url, key=generate_key())
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def ctx(store_settings: StoreSettings, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(update={"store": store_settings})
    detector, embedder = models
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = detector, embedder
    try:
        yield context
    finally:
        context.close()
