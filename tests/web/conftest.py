"""Browser-test helpers: Debian's chromium driven by Playwright (never `playwright install`),
a real uvicorn server on 127.0.0.1 in a thread, and the store a module's server runs on.

`web_store` is module-scoped (one server per module and backend): the root `store_settings`
is per test, and starting a server, enrolling and drafting for every browser test would cost
more than the tests themselves."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from store_support import PG_URL, pg_schema
from suite import needs

from openlfr.config import StoreSettings
from openlfr.store.crypto import generate_key

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    """Serves `app` with uvicorn on a free local port; yields its base URL."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(15)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(needs("Chromium", f"{CHROMIUM} is missing"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def serving() -> Callable[[Any], AbstractContextManager[str]]:
    """`with serving(app) as url:` runs a real uvicorn server for `app` on 127.0.0.1."""
    return _serve


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres]),
]


@pytest.fixture(scope="module", params=BACKENDS)
def web_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreSettings]:
    """A fresh store for a module's server: a SQLite file, or a PostgreSQL schema of its own."""
    data_dir = tmp_path_factory.mktemp("store") / "data"
    if request.param == "sqlite":
        yield StoreSettings(data_dir=data_dir)
        return
    if not PG_URL:
        pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))
    with pg_schema(PG_URL) as url:
        yield StoreSettings(data_dir=data_dir, database_url=url, key=generate_key())
