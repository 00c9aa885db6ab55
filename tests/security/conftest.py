"""Fixtures of the security tests: a store that signs an audit checkpoint every
`CHECKPOINT_EVERY` rows (not the production interval), so that a few dozen rows cross several
checkpoints and an insider's cut or re-chain has one on each side of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from insider_support import CHECKPOINT_EVERY

from openlfr.config import StoreSettings
from openlfr.store import Store, open_store


@pytest.fixture
def settings(store_settings: StoreSettings) -> StoreSettings:
    """The test's store settings (SQLite or PostgreSQL), checkpointing every few rows."""
    return store_settings.model_copy(update={"checkpoint_every": CHECKPOINT_EVERY})


@pytest.fixture
def store(settings: StoreSettings) -> Iterator[Store]:
    """A migrated store on `settings` (in place of tests/conftest.py's, for this folder)."""
    opened = open_store(settings)
    yield opened
    opened.dispose()
