"""Governance fixtures, every one on the test's backend (the root ``store_settings``: a SQLite file,
and a PostgreSQL schema of its own when OPENLFR_TEST_PG_URL is set) with the session's models:
``open_ctx`` opens an AppContext with chosen governance/video settings, ``ctx`` is one with the
defaults (video not paced), ``world`` is ``gov_support.build_world`` in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gov_support import OpenCtx, World, build_world
from store_support import open_context

from openlfr.config import StoreSettings, VideoSettings
from openlfr.domain import GovernanceSettings
from openlfr.service.context import AppContext
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture
def open_ctx(
    store_settings: StoreSettings, models: tuple[Detector, Embedder], shared_data: Path
) -> Iterator[OpenCtx]:
    """``open_ctx(governance={...}, realtime=False)``: every governance test that opens a store
    enrols LFW images or plays the clip, hence ``shared_data``. Each context is closed after."""
    opened: list[AppContext] = []

    def open_(*, governance: dict[str, Any] | None = None, realtime: bool = False) -> AppContext:
        context = open_context(
            store_settings,
            models,
            governance=GovernanceSettings(**(governance or {})),
            video=VideoSettings(realtime=realtime),
        )
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


@pytest.fixture
def ctx(open_ctx: OpenCtx) -> AppContext:
    return open_ctx()


@pytest.fixture
def world(ctx: AppContext) -> World:
    return build_world(ctx)
