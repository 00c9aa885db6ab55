"""Store fixtures: each test gets a fresh, migrated store on a real SQLite file and, when
OPENLFR_TEST_PG_URL is set, on a real PostgreSQL server (in a schema of its own, dropped after)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from openlfr.config import StoreSettings
from openlfr.store import Store, open_store
from openlfr.store.crypto import generate_key

PG_URL = os.environ.get("OPENLFR_TEST_PG_URL")
PG_SKIP_REASON = (
    "OPENLFR_TEST_PG_URL is not set (e.g. postgresql+psycopg://openlfr@127.0.0.1:5432/"
    "openlfr_test); PostgreSQL variants of the store tests are skipped"
)

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=[pytest.mark.postgres, pytest.mark.skipif(not PG_URL, reason=PG_SKIP_REASON)],
    ),
]


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a brand-new schema; the schema is dropped after."""
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSettings:
    """Settings for a fresh store: SQLite with a key file, or PostgreSQL with a key in settings."""
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
        return StoreSettings(data_dir=tmp_path / "data", database_url=url, key=generate_key())
    return StoreSettings(data_dir=tmp_path / "data")


@pytest.fixture
def store(store_settings: StoreSettings) -> Iterator[Store]:
    """A migrated store; parametrised over SQLite and (when configured) PostgreSQL."""
    s = open_store(store_settings)
    try:
        yield s
    finally:
        s.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(StoreSettings(data_dir=tmp_path / "data"))
    try:
        yield s
    finally:
        s.dispose()
