"""The operator's queue in two browsers (Debian's chromium via Playwright, two contexts, one
real uvicorn server): operator A is reviewing an alert when a second one arrives (raised through
the service layer's alert sink, as a run raises it) and operator B closes the first. A's alert
under review never changes by itself: the arrival is announced and highlighted but not opened,
the list is newest first, and when B closes A's alert A is told so and asked to choose. Sound
and order are the operator's choices and survive a reload."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from suite import SHARED_DATA

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings, WebSettings
from openlfr.config_grouping import GroupingSettings
from openlfr.pipeline.alerts import Alert
from openlfr.service.accounts import create_account
from openlfr.service.alert_sink import StoreAlertSink
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.watchlists import GalleryEntry, compile_watchlist
from openlfr.store import models as m

FACE = SHARED_DATA / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
PASSWORD = "correct horse battery"
# A real browser against a real server: seconds a test, so out of the quick `-m "not slow"` run.
pytestmark = pytest.mark.slow


class Raiser:
    """Raises alerts in one deployment exactly as a run does (StoreAlertSink)."""

    def __init__(self, settings: Settings, dep_id: int) -> None:
        self.ctx = AppContext.open(settings, actor="runner")
        with self.ctx.store.session() as s:
            cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep_id))
            entry = s.execute(
                select(m.WatchlistEntry, m.Subject.reference)
                .join(m.Subject, m.Subject.id == m.WatchlistEntry.subject_id)
                .join(m.Deployment, m.Deployment.watchlist_id == m.WatchlistEntry.watchlist_id)
                .where(m.Deployment.id == dep_id)
            ).first()
            assert cam is not None and entry is not None
            e, ref = entry
            gallery = [GalleryEntry(e.subject_id, ref, e.reference_image_id, e.category)]
        self.sink = StoreAlertSink(self.ctx, dep_id, cam, gallery)
        self.track = 0

    def __call__(self) -> int:
        self.track += 1
        crop = np.full((96, 96, 3), 120, np.uint8)
        self.sink.raise_alert(Alert("cam1", self.track, 0, 0.71, 0.2, -1, 1, 10 * self.track,
                                    0.0, 3, crop))  # fmt: skip
        return self.sink.alert_ids[self.track]


@pytest.fixture(scope="module")
def site(
    web_store: StoreSettings,
    shared_data: Path,
    serving: Callable[[Any], AbstractContextManager[str]],
) -> Iterator[dict[str, Any]]:
    settings = Settings().model_copy(
        update={
            "store": web_store,
            "web": WebSettings(alert_poll_s=0.2, health_poll_s=1.0),
            # Each raised alert is its own: the queue, not grouping (tests/grouping), is tested.
            "grouping": GroupingSettings(window_s=0),
        }
    )
    ctx = AppContext.open(settings, actor="sgt.setup")
    spec = ImageSpec(FACE, "CUST-3", "PACE s64A", "charged", date.today(), 30)
    assert enrol_subject(ctx, reference="SUBJ-0300", display_name="S", category="suspect",
                         images=[spec]).enrolled  # fmt: skip
    wl = compile_watchlist(ctx, "Op Queue")
    now = utcnow()
    dep_id = create_deployment(ctx, DeploymentDraft(
        "Op Queue", "locate a suspect", "High Street", "sightings reported",
        now - timedelta(minutes=1), now + timedelta(hours=2), wl.id, [("cam1", str(CLIP))],
        None, "threshold at the floor; reviewed",
    ))  # fmt: skip
    authorise_deployment(ctx, dep_id, officer="A Smith", rank="superintendent", reasons="test")
    for name in ("op.a", "op.b"):
        create_account(ctx.store, username=name, password=PASSWORD, role="operator",
                       display_name=name.upper(), created_by="test")  # fmt: skip
    ctx.close()
    raise_alert = Raiser(settings, dep_id)
    first = raise_alert()  # already waiting when the operators log in
    app = create_app(settings)
    with serving(app) as url:
        yield {"url": url, "raise": raise_alert, "first": first, "deployment_id": dep_id}
    raise_alert.ctx.close()
    app.state.svc.store.dispose()


def _until(page: Any, predicate: str, arg: Any = None, timeout: float = 30.0) -> None:
    """Polls a JS function (wait_for_function would evaluate a string, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        time.sleep(0.1)


def _operator(chromium: Any, url: str, username: str) -> tuple[Any, Any, list[str]]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/operator")
    page.wait_for_selector("#conn.on")
    return context, page, errors


def _ids(page: Any) -> list[int]:
    return [
        int(x) for x in page.eval_on_selector_all("#queue li", "els => els.map(e => e.dataset.id)")
    ]


def test_new_alert_never_replaces_the_one_under_review(site: dict[str, Any], chromium: Any) -> None:
    url, first = site["url"], site["first"]
    ctx_a, a, errors_a = _operator(chromium, url, "op.a")
    _until(a, "(id) => !!document.querySelector(`#queue li[data-id='${id}']`)", first)
    assert a.locator("#alert").is_hidden()  # nothing is opened for the operator
    a.keyboard.press("f")  # no alert shown: decision keys do nothing
    assert a.locator("#reason-box").is_hidden()
    entry = a.locator(f"#queue li[data-id='{first}']")
    assert "Op Queue" in entry.inner_text() and "SUBJ-0300" in entry.inner_text()
    entry.click()
    a.wait_for_selector("#alert:not([hidden])")
    assert a.locator("#a-id").inner_text() == str(first)
    assert "Op Queue" in a.locator("#a-dep").inner_text()

    second = site["raise"]()
    a.wait_for_selector(f"#queue li.new[data-id='{second}']")
    banner = a.locator("#announce")
    assert banner.is_visible() and f"#{second}" in banner.inner_text()
    assert f"still on alert #{first}" in banner.inner_text()
    assert f"#{second}" in a.locator("#live").inner_text()  # aria-live="assertive"
    assert a.locator("#live").get_attribute("aria-live") == "assertive"
    assert _ids(a)[:2] == [second, first]  # newest first
    assert a.locator("#a-id").inner_text() == str(first)  # still the alert under review
    assert a.locator("#detail").get_attribute("data-current") == str(first)

    # B opens the first alert and closes it as a false alert.
    ctx_b, b, errors_b = _operator(chromium, url, "op.b")
    _until(b, "(id) => !!document.querySelector(`#queue li[data-id='${id}']`)", second)
    assert _ids(b)[:2] == [second, first]
    b.locator(f"#queue li[data-id='{first}']").click()
    b.wait_for_selector("#alert:not([hidden])")
    b.keyboard.press("f")
    b.wait_for_selector("#reason-box:not([hidden])")
    b.keyboard.type("different face shape and eyebrows")
    b.keyboard.press("Enter")
    b.wait_for_selector("#done:not([hidden])")
    assert f"Alert #{first} done" in b.locator("#done").inner_text()
    assert b.locator("#alert").is_hidden()  # B is not moved on to the second alert either

    # A is told its alert was closed elsewhere and asked to choose; it is not moved on.
    a.wait_for_selector("#done:not([hidden])")
    done = a.locator("#done").inner_text()
    assert f"Alert #{first}" in done and "op.b" in done and "Choose the next alert" in done
    assert a.locator("#alert").is_hidden()
    assert a.locator("#detail").get_attribute("data-current") == ""
    entry = a.locator("#queue li").first
    assert _ids(a) == [second] and "new" in (entry.get_attribute("class") or "")
    a.keyboard.press("c")
    assert a.locator("#reason-box").is_hidden() and a.locator("#alert").is_hidden()
    entry.click()
    a.wait_for_selector("#alert:not([hidden])")
    assert a.locator("#a-id").inner_text() == str(second)
    assert a.locator("#announce").is_hidden()  # the announced alert has been opened
    ctx_b.close()
    ctx_a.close()
    assert not [e for e in errors_a + errors_b if "Content Security Policy" in e]


def test_sound_and_order_are_the_operators_choice(site: dict[str, Any], chromium: Any) -> None:
    url = site["url"]
    context, page, errors = _operator(chromium, url, "op.a")
    assert not page.locator("#sound-toggle").is_checked()  # off until switched on
    page.locator("#sound-toggle").check()
    assert page.evaluate("() => localStorage.getItem('openlfr.sound')") == "on"
    page.click("#order-toggle")
    _until(page, "() => document.getElementById('order-toggle').textContent === 'Oldest first'")
    assert page.evaluate("() => localStorage.getItem('openlfr.order')") == "oldest_first"
    page.reload()
    page.wait_for_selector("#conn.on")
    assert page.locator("#sound-toggle").is_checked()  # both choices survive a reload
    assert page.locator("#order-toggle").inner_text() == "Oldest first"
    page.locator("#sound-toggle").uncheck()
    page.locator("#sound-toggle").check()  # a user gesture, so that audio may start
    third = site["raise"]()
    page.wait_for_selector(f"#queue li.new[data-id='{third}']")
    ids = _ids(page)
    assert ids == sorted(ids) and ids[-1] == third  # oldest first: the arrival at the bottom
    _until(page, "() => Number(document.body.dataset.beeps || 0) >= 1")  # WebAudio tone played
    page.click("#order-toggle")
    assert _ids(page)[0] == third
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
    assert re.search(r"Op Queue", site["url"]) is None  # (the URL carries nothing personal)
