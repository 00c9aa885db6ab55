"""Accountability fixtures on the test's backend (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from acc_support import context

from openlfr.config import StoreSettings
from openlfr.service.context import AppContext
from openlfr.vision.protocols import Detector, Embedder

OpenCtx = Callable[[float], AppContext]


@pytest.fixture
def open_ctx(
    store_settings: StoreSettings, models: tuple[Detector, Embedder], shared_data: Path
) -> Iterator[OpenCtx]:
    """``open_ctx(notice_hours)``: a context on the test's store with that notice period."""
    opened: list[AppContext] = []

    def open_(notice_hours: float) -> AppContext:
        ctx = context(store_settings, models, notice_hours)
        opened.append(ctx)
        return ctx

    yield open_
    for ctx in opened:
        ctx.close()
