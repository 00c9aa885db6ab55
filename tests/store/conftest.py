"""Store fixtures: `store`, `store_settings` and `pg_schema_url` come from the root conftest (each
test on a real SQLite file and on a real PostgreSQL schema of its own); here only the SQLite-only
store for tests about SQLite itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from openlfr.config import StoreSettings
from openlfr.store import Store, open_store


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(StoreSettings(data_dir=tmp_path / "data"))
    try:
        yield s
    finally:
        s.dispose()
