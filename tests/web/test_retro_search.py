"""Retrospective search by an investigator through the API and the web page (issue 11 item 3,
R17), on a real custody estate of LFW faces served by a real uvicorn server; the page in
Debian's chromium via Playwright.

The investigator may search and see candidates, and is refused everything else; a supervisor
may not search. The page shows the probe beside each candidate, and each candidate image the
browser loads is one audited view citing the search."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext
from openlfr.service.custody_import import import_custody
from openlfr.service.sessions import issue_session
from openlfr.store.models import AuditEntry
from openlfr.store.models_accounts import SessionKind

PASSWORD = "correct horse battery"
HEADER = "custody_id,person_ref,image,captured,age_at_capture,case_outcome"
pytestmark = pytest.mark.slow  # a real browser against a real server
#: What an investigator must not reach: faces, alerts, deployments, accounts, the log.
REFUSED_API = [("GET", "/api/watchlists"), ("GET", "/api/subjects"), ("GET", "/api/audit"),
               ("GET", "/api/users"), ("GET", "/api/exceptional")]  # fmt: skip
REFUSED_PAGES = ["/operator", "/enrol", "/watchlists", "/deployments", "/audit", "/admin/users"]


def _people(images: Path, n: int) -> list[tuple[str, list[Path]]]:
    out = []
    for d in sorted(images.iterdir()):
        files = sorted(d.iterdir())
        if len(files) >= 2:
            out.append((d.name, files))
        if len(out) == n:
            return out
    return out


@pytest.fixture(scope="module")
def site(
    web_store: StoreSettings, shared_data: Path, tmp_path_factory: pytest.TempPathFactory,
    serving: Callable[[Any], AbstractContextManager[str]],
) -> Iterator[dict[str, Any]]:  # fmt: skip
    images = shared_data / "lfw" / "images"
    people = _people(images, 8)
    lines = [HEADER] + [
        f"C{i},P{i},{name}/{files[0].name},2021-03-04,35,"
        + ("no_further_action" if i == 0 else "convicted")
        for i, (name, files) in enumerate(people)
    ]
    csv_path = tmp_path_factory.mktemp("estate") / "estate.csv"
    csv_path.write_text("\n".join(lines) + "\n")
    settings = Settings().model_copy(update={"store": web_store})
    ctx = AppContext.open(settings, actor="sgt.import")
    try:
        assert import_custody(ctx, csv_path, images).imported == len(people)
        tokens = {}
        for name, role in (("inv.one", "investigator"), ("sup.one", "supervisor")):
            acct = create_account(ctx.store, username=name, password=PASSWORD, role=role,
                                  display_name=name.upper(), created_by="test")  # fmt: skip
            tokens[role] = issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "t")[0]
    finally:
        ctx.close()
    app = create_app(settings)
    with serving(app) as url:
        yield {"url": url, "people": people, "tokens": tokens, "settings": settings}
    app.state.svc.store.dispose()


def _audits(site: dict[str, Any], event: str) -> list[AuditEntry]:
    ctx = AppContext.open(site["settings"], actor="test.reader")
    try:
        with ctx.store.session() as s:
            found = list(s.scalars(select(AuditEntry).where(AuditEntry.event == event)))
            s.expunge_all()
        return found
    finally:
        ctx.close()


def _search(site: dict[str, Any], probe: Path, role: str = "investigator") -> httpx.Response:
    return httpx.post(
        f"{site['url']}/api/search",
        headers={"Authorization": f"Bearer {site['tokens'][role]}"},
        data={"case_ref": "OP-7/2026", "reason": "burglary, CCTV still"},
        files={"image": (probe.name, probe.read_bytes(), "image/jpeg")},
        timeout=60,
    )


def test_investigator_searches_and_sees_candidates_and_nothing_else(site: dict[str, Any]) -> None:
    people, url = site["people"], site["url"]
    inv = {"Authorization": f"Bearer {site['tokens']['investigator']}"}
    res = _search(site, people[2][1][1])  # another photograph of P2
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == {"candidates", "searched", "excluded_ineligible", "seconds"}
    assert body["candidates"][0]["person_ref"] == "P2"
    assert (body["searched"], body["excluded_ineligible"]) == (len(people) - 1, 1)
    assert "never an identification" in res.headers["X-OpenLFR-Notice"]
    search_id = int(res.headers["X-OpenLFR-Search-Id"])
    seen = len(_audits(site, "custody_image_viewed"))
    img = httpx.get(f"{url}/api/search/{search_id}/candidates/1/image", headers=inv, timeout=30)
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(img.content, np.uint8), cv2.IMREAD_COLOR) is not None
    assert len(_audits(site, "custody_image_viewed")) == seen + 1
    # R17: the NFA person (P0) is never a candidate, even for their own other photograph.
    nfa = _search(site, people[0][1][1])
    assert nfa.status_code == 200
    assert "P0" not in {c["person_ref"] for c in nfa.json()["candidates"]}
    for method, path in REFUSED_API:
        assert httpx.request(method, url + path, headers=inv, timeout=30).status_code == 403, path
    # The search is the investigator's alone: a supervisor is refused it.
    assert _search(site, people[2][1][1], role="supervisor").status_code == 403


def test_search_page_shows_the_probe_beside_each_candidate(
    site: dict[str, Any], chromium: Any
) -> None:
    url, people = site["url"], site["people"]
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "inv.one")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/search")
    for path in REFUSED_PAGES:
        assert page.request.get(url + path).status == 403, path
    probe = people[3][1][1]
    page.set_input_files("input[name=image]", str(probe))
    page.fill("input[name=case_ref]", "OP-9/2026")
    page.fill("textarea[name=reason]", "robbery at the post office")
    page.fill("input[name=top]", "5")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#candidates li.candidate")
    assert "never an identification" in page.locator("#leads-notice").inner_text()
    search_id = int(re.findall(r"Search (\d+)", page.locator("#search-summary").inner_text())[0])
    items = page.locator("#candidates li.candidate")
    n = items.count()
    assert n == 5
    assert "P3" in items.first.inner_text()
    # Polled, not wait_for_function: that evaluates a string, which the page's CSP forbids.
    loaded = "(li) => [...li.querySelectorAll('img')].map(i => i.complete && i.naturalWidth)"
    for k in range(n):
        li = items.nth(k)
        assert li.locator("img.probe").count() == 1 and li.locator("img.candidate-image").count()
        _until(lambda li=li: all(li.evaluate(loaded)))
    # Each candidate shown was one audited view, citing this search and its rank.
    views = [e for e in _audits(site, "custody_image_viewed")
             if json.loads(e.detail or "{}").get("search_id") == search_id]  # fmt: skip
    assert sorted(json.loads(v.detail or "{}")["rank"] for v in views) == list(range(1, n + 1))
    assert all(v.actor == "inv.one" and "OP-9/2026" in v.justification for v in views)
    [search] = [e for e in _audits(site, "retro_search") if e.id == search_id]
    returned = json.loads(search.detail or "{}")["returned_rows"]
    assert sorted(int(v.object_id) for v in views) == sorted(returned)
    assert "robbery at the post office" in search.justification
    context.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the candidate images"
        time.sleep(0.1)
