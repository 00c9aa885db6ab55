"""The public pages (no log-in) on the scenario's store: the web page lists each deployment with
its status and how it ended, people seen beside face detections, the definitions in words, and
the counts of what never became a deployment; only authorised deployments have a record page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openlfr.api import create_app
from openlfr.service.context import utcnow
from tests.reports.conftest import FACE_FRAMES


@pytest.fixture
def client(scenario: Any) -> Iterator[TestClient]:
    app = create_app(scenario.ctx.settings, store=scenario.ctx.store)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _period() -> str:
    today = utcnow().date()
    return f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _row(html: str, dep: int) -> list[str]:
    found = re.search(rf'<tr id="dep-{dep}"[^>]*>(.*?)</tr>', html, re.S)
    assert found is not None, f"deployment {dep} is not listed"
    return [_words(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", found.group(1), re.S)]


def test_public_page_figures_status_and_definitions(client: TestClient, scenario: Any) -> None:
    res = client.get(f"/public?{_period()}")
    assert res.status_code == 200
    html = res.text
    words = _words(html)
    assert 'data-key="people_seen">2<' in html and 'data-key="confirmed">1<' in html
    assert re.search(r'id="fa-rate">500\.000<', html)
    assert re.search(r'id="people-seen">2<', html) and re.search(r'id="face-detections">194<', html)
    counts = {k: re.search(rf'id="n-{k}">(\d+)<', html) for k in
              ("ran", "did-not-run", "refused", "withdrawn")}  # fmt: skip
    assert {k: int(m.group(1)) for k, m in counts.items() if m} == {
        "ran": 2, "did-not-run": 1, "refused": 1, "withdrawn": 1,
    }  # fmt: skip
    a = _row(html, scenario.dep_a)
    # #, date, location, purpose, status, how it ended, rank, cameras, watchlist, threshold,
    # people seen, face detections, alerts, confirmed, false, not actioned, arrests, links
    assert a[4:6] == ["ended", "source ended"]
    assert a[10:17] == ["1", str(FACE_FRAMES), "1", "1", "0", "0", "1"]
    failed = _row(html, scenario.dep_failed)
    assert failed[4:6] == ["did not run", "did not run: camera failed"]
    assert failed[10:13] == ["0", "0", "0"]
    for dep in (scenario.dep_refused, scenario.dep_withdrawn, scenario.dep_draft):
        assert f'id="dep-{dep}"' not in html
    assert "one face track per person, as the NPL evaluation counts them" in words
    assert "Not a count of people" in words
    assert "not by face detections" in words
    assert "Faces" not in words and "faces seen" not in words


def test_record_pages_only_for_authorised_deployments(client: TestClient, scenario: Any) -> None:
    for dep in (scenario.dep_refused, scenario.dep_withdrawn, scenario.dep_draft):
        assert client.get(f"/public/deployments/{dep}.html").status_code == 404
        assert client.get(f"/public/deployments/{dep}.json").status_code == 404
    page = client.get(f"/public/deployments/{scenario.dep_failed}.html")
    assert page.status_code == 200 and "did not run: camera failed" in page.text
    body = client.get(f"/public/deployments/{scenario.dep_failed}.json").json()
    assert (body["status"], body["did_not_run"], body["end_reason"]) == (
        "ended",
        True,
        "did not run: camera failed",
    )
