"""In a real browser (Debian's chromium via Playwright, a real uvicorn server): the operator's
queue shows one alert for a person seen on two cameras, and opening it shows its two sightings,
the later one with its crop loaded (an audited consultation); no request of the page fails."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from grouping_support import PEOPLE, Sinks, deployment, enrol, lfw, open_ctx
from sqlalchemy import select
from suite import needs

from openlfr.api import create_app
from openlfr.config import StoreSettings
from openlfr.service.accounts import create_account
from openlfr.store import models as m
from openlfr.vision.protocols import Detector, Embedder

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.slow


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(
    store_settings: StoreSettings, models: tuple[Detector, Embedder]
) -> Iterator[tuple[str, Sinks]]:
    if not CHROMIUM.exists():
        pytest.skip(needs("Chromium", f"{CHROMIUM} is missing"))
    ctx = open_ctx(store_settings, models)
    enrol(ctx, [(ref, lfw(name)) for ref, name in PEOPLE])
    run = Sinks.of(ctx, deployment(ctx, "Op Browser"))
    create_account(ctx.store, username="op", password=PASSWORD, role="operator",
                   display_name="OP", created_by="test")  # fmt: skip
    app = create_app(ctx.settings)
    port = _port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", run
    finally:
        srv.should_exit = True
        thread.join(15)
        app.state.svc.store.dispose()
        ctx.close()


def test_operator_opens_one_alert_and_sees_its_sightings(served: tuple[str, Sinks]) -> None:
    from playwright.sync_api import sync_playwright

    url, run = served
    run.raise_(0, 1, PEOPLE[0][0], 0.71)
    run.raise_(1, 2, PEOPLE[0][0], 0.77, shade=50)
    [alert] = run.alerts()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        failed: list[str] = []  # (the browser's own favicon request is not a page response)
        page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "op")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/operator")
        entry = page.locator(f"#queue li[data-id='{alert.id}']")
        entry.wait_for()
        assert page.locator("#queue li").count() == 1  # one alert, not two
        entry.click()
        page.wait_for_selector("#sightings:not([hidden])")
        assert page.locator("#s-count").inner_text() == "2"
        items = page.locator("#s-list li")
        assert items.count() == 2
        assert (
            "cam1" in items.nth(0).inner_text() and "raised the alert" in items.nth(0).inner_text()
        )
        assert "cam2" in items.nth(1).inner_text() and "0.77" in items.nth(1).inner_text()
        img = items.nth(1).locator("img")
        deadline = time.monotonic() + 30
        while not img.evaluate("i => i.complete && i.naturalWidth > 0"):
            assert time.monotonic() < deadline, "the sighting's crop did not load"
            time.sleep(0.1)
        deadline = time.monotonic() + 10
        while "seen 2 times" not in entry.inner_text():  # the queue says so too
            assert time.monotonic() < deadline, entry.inner_text()
            time.sleep(0.1)
        browser.close()
    assert not failed, failed
    assert not [e for e in errors if "Content Security Policy" in e], errors
    with run.ctx.store.session() as s:
        viewed = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.event == "alert_sighting_viewed")
        ).all()
        assert [e.actor for e in viewed] == ["op"]
