"""Issue 13 in a real browser (Debian's chromium via Playwright) against a real uvicorn server,
on SQLite and PostgreSQL: the authorisation form says when the notice goes up and when the
deployment may start, shows the equality evidence at its threshold; a notice is published on
/public; a notice that cannot pass in time is refused until withheld for a listed reason; a
supervisor answers a subject access request, and one about a person not held."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import uvicorn
from acc_support import draft, enrol
from store_support import PG_URL, pg_schema
from suite import needs

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings
from openlfr.config_accountability import AccountabilitySettings
from openlfr.evaluation.equality import GRID, rates_by_threshold
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext
from openlfr.service.equality import record_equality
from openlfr.service.watchlists import compile_watchlist
from openlfr.store.crypto import generate_key

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]  # fmt: skip
PASSWORD = "correct horse battery"
pytestmark = pytest.mark.slow


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def web_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreSettings]:
    data_dir = tmp_path_factory.mktemp("store") / "data"
    if request.param == "sqlite":
        yield StoreSettings(data_dir=data_dir)
        return
    if not PG_URL:
        pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))
    with pg_schema(PG_URL) as url:
        yield StoreSettings(data_dir=data_dir, database_url=url, key=generate_key())


def _measure(settings: Settings) -> None:
    """Equality evidence as `eval identify --record` keeps it, from synthetic scores: group b's
    impostors score higher, so its false positive rate at any threshold is the larger."""
    rng = np.random.default_rng(3)
    n_groups = np.array(["a"] * 200 + ["b"] * 200, dtype=object)
    n_scores = np.concatenate([rng.normal(0.2, 0.1, 200), rng.normal(0.35, 0.1, 200)])
    m_groups = np.array(["a"] * 100 + ["b"] * 100, dtype=object)
    m_scores = rng.normal(0.7, 0.1, 200)
    grid = rates_by_threshold(m_groups, n_groups, lambda t: m_scores >= t, n_scores)
    result = {"grid": list(GRID), "by_group_at_thresholds": grid}
    record_equality(settings, result, "synthetic", datetime.now(UTC) - timedelta(days=3))


@pytest.fixture(scope="module")
def site(web_store: StoreSettings, shared_data: Path) -> Iterator[dict[str, Any]]:
    acc = AccountabilitySettings(notice_hours=24, contact="Write to dpo@force.example")
    settings = Settings().model_copy(update={"store": web_store, "accountability": acc})
    ctx = AppContext.open(settings, actor="sgt.setup")
    for name, role, rank in [("supervisor", "supervisor", None),
                             ("supt", "authorising_officer", "superintendent")]:  # fmt: skip
        create_account(ctx.store, username=name, password=PASSWORD, role=role, rank=rank,
                       display_name=f"{name.title()} Officer", created_by="test")  # fmt: skip
    enrol(ctx, "PNC-W1", "AJ_Cook", "court_conditions", "breach_sexual_offence_conditions")
    wl = compile_watchlist(ctx, "Op Web")
    ahead = draft(ctx, wl.id, hours_from_now=30)
    urgent = draft(ctx, wl.id, length_hours=4)
    _measure(settings)
    ctx.close()
    app = create_app(settings)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "ahead": ahead, "urgent": urgent}
    srv.should_exit = True
    thread.join(15)
    app.state.svc.store.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(needs("Chromium", f"{CHROMIUM} is missing"))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    p = chromium.new_page(viewport={"width": 1366, "height": 900})
    p.set_default_timeout(30_000)
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield p
    p.close()
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors


def _login(page: Any, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/deployments$"))


def _authorise(page: Any, withhold: str = "", note: str = "") -> None:
    page.fill("#authorise-form textarea[name=reasons]", "wanted: breach of a sexual harm order")
    if withhold:
        page.select_option("#withhold-notice", withhold)
        page.fill("#authorise-form textarea[name=withhold_note]", note)
    page.click("#authorise-form button[type=submit]")
    page.wait_for_selector("#confirm")
    page.click("#confirm-button")


def test_notice_on_the_form_and_on_public(site: dict[str, Any], page: Any) -> None:
    url, dep = site["url"], site["ahead"]
    _login(page, url, "supt")
    page.goto(f"{url}/deployments/{dep}/review")
    assert "24.0 h" in page.locator("#notice-when").inner_text()
    member = page.locator("#members tbody tr").first
    assert "breach of sexual-offence conditions" in member.inner_text()
    # Equality evidence at this deployment's threshold, with its date; b's FPIR is the higher.
    assert (
        page.locator("#equality-date").inner_text()
        == (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    )
    rows = page.locator("#equality-rates tbody tr")
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    fpir = {c.nth(0).inner_text(): float(c.nth(1).inner_text()) for c in cells}
    assert fpir["b"] > fpir["a"]
    assert page.locator("#equality-warning").count() == 0  # three days old: current
    _authorise(page)
    page.wait_for_url(f"{url}/deployments/{dep}")
    assert "may start from" in page.locator("#notice-published").inner_text()
    page.goto(f"{url}/public")
    row = page.locator(f"#notices-table tr[data-deployment='{dep}']")
    assert "Market Square" in row.inner_text() and "1 people" in row.inner_text()
    assert "superintendent" in row.inner_text() and "dpo@force.example" in row.inner_text()
    assert "PNC-W1" not in page.content()
    with urllib.request.urlopen(f"{url}/public/notices.json") as r:  # no login
        (notice,) = json.loads(r.read())["notices"]
    assert notice["deployment_id"] == dep and notice["notice_hours"] == 24


def test_short_notice_is_refused_until_withheld(site: dict[str, Any], page: Any) -> None:
    url, dep = site["url"], site["urgent"]
    _login(page, url, "supt")
    page.goto(f"{url}/deployments/{dep}/review")
    assert "could never run" in page.locator("#notice-when").inner_text()
    _authorise(page)
    refusal = page.locator(".refusal")
    refusal.wait_for()
    assert "R19" in refusal.inner_text()
    _authorise(page, "threat_to_life", "credible threat to a named witness today")
    page.wait_for_url(f"{url}/deployments/{dep}")
    assert "a specific threat to life" in page.locator("#notice-withheld").inner_text()
    page.goto(f"{url}/public")
    assert page.locator(f"#notices-table tr[data-deployment='{dep}']").count() == 0


def test_supervisor_answers_a_subject_access_request(site: dict[str, Any], page: Any) -> None:
    url = site["url"]
    _login(page, url, "supervisor")
    page.click("nav a[href='/subject-access']")
    page.fill("input[name=person_ref]", "PNC-W1")
    page.fill("input[name=request_ref]", "SAR-WEB-1")
    page.fill("input[name=recipient]", "the data subject, by post")
    page.click("#sar-submit")
    page.wait_for_selector("#r8-statement")
    assert page.locator("#person-ref").inner_text() == "PNC-W1"
    assert "never stored" in page.locator("#r8-statement").inner_text()
    assert "sexual-offence conditions" in page.locator("#reason-wanted").inner_text()
    assert page.locator("#images img").count() == 1  # the image itself, inline
    page.go_back()
    page.fill("input[name=person_ref]", "PNC-NOT-HELD")
    page.fill("input[name=request_ref]", "SAR-WEB-2")
    page.click("#sar-submit")
    page.wait_for_selector("#nothing-held")
    assert "holds no record" in page.content()
