"""Issue 13's period report in a real browser (Debian's chromium via Playwright) against a real
uvicorn server, on SQLite and PostgreSQL (`web_store`): the public page and the standalone report
show arrests and outcomes by reason wanted as a table (and, in the report, a chart), with small
counts suppressed so that a count of 3 appears in neither, nor can be worked out from them.

(The notice, authorisation-form and subject-access pages are driven in a browser by
tests/accountability/test_acc_web.py.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

import pytest

from openlfr.api import create_app
from openlfr.config import StoreSettings
from openlfr.domain.suppression import SMALL, WITHHELD
from openlfr.service.context import utcnow
from openlfr.service.deployments import authorise_deployment
from openlfr.service.reasons_wanted import outcomes_by_reason
from openlfr.service.watchlists import compile_watchlist
from openlfr.vision.protocols import Detector, Embedder
from tests.accountability.acc_support import SUPT, context, draft, enrol, seed_alerts

pytestmark = pytest.mark.slow  # a real browser against a real server
SMALL_ONE = 3  # the count that must never be published


@pytest.fixture(scope="module")
def site(
    web_store: StoreSettings,
    models: tuple[Detector, Embedder],
    serving: Callable[[Any], AbstractContextManager[str]],
) -> Iterator[dict[str, Any]]:
    """One ended deployment: 3 charged and 6 with no further action for a person wanted for
    failing to appear, 8 charged for one wanted for a VAWG offence."""
    ctx = context(web_store, models, 0)
    enrol(ctx, "PNC-WR1", "AJ_Cook", "wanted_by_courts", "failing_to_appear")
    enrol(ctx, "PNC-WR2", "Abdullah_Gul", "suspect", "vawg_offence")
    dep = draft(ctx, compile_watchlist(ctx, "Op Web Report").id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    seed_alerts(
        ctx, dep, "PNC-WR1", ["charged_or_cautioned"] * SMALL_ONE + ["no_further_action"] * 6
    )
    seed_alerts(ctx, dep, "PNC-WR2", ["charged_or_cautioned"] * 8)
    raw = outcomes_by_reason(ctx, [dep])
    assert raw["failing_to_appear"]["charged_or_cautioned"] == SMALL_ONE
    app = create_app(ctx.settings, store=ctx.store)
    today = utcnow().date()
    with serving(app) as url:
        yield {"url": url, "period": f"from={today}&to={today + timedelta(days=1)}"}
    ctx.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    p = chromium.new_page(viewport={"width": 1366, "height": 900})
    p.set_default_timeout(30_000)
    yield p
    p.close()


def _table(page: Any) -> dict[str, list[str]]:
    """{reason: [arrests, outcome cells...]} as the browser shows the by-reason table."""
    rows = page.locator("#by-reason tbody tr")
    out = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td")
        out[row.get_attribute("data-reason")] = [
            cells.nth(j).inner_text().strip() for j in range(1, cells.count())
        ]
    return out


def _check(table: dict[str, list[str]]) -> None:
    fta, vawg = table["failing_to_appear"], table["vawg_offence"]
    assert SMALL in fta and str(SMALL_ONE) not in fta
    # The row's arrests and the other reason's charged count would give the 3 away: withheld.
    assert fta[0] == WITHHELD and vawg[0] == WITHHELD
    assert all(str(SMALL_ONE) not in cells for cells in table.values())
    assert table["mappa_management"][0] == "0"  # zeros are published: they single out nobody


def test_public_page_shows_the_by_reason_table_suppressed(site: dict[str, Any], page: Any) -> None:
    page.goto(f"{site['url']}/public?{site['period']}")
    _check(_table(page))
    assert "cannot be worked out" in page.locator("#suppression").inner_text()
    assert "PNC-WR1" not in page.content()


def test_report_page_shows_the_table_and_the_chart(site: dict[str, Any], page: Any) -> None:
    page.goto(f"{site['url']}/public/report.html?{site['period']}")
    _check(_table(page))
    chart = page.locator("svg[aria-label*='by reason wanted']")
    assert chart.count() == 1 and chart.bounding_box()["height"] > 100  # drawn, not empty
    assert "failing to appear at court (some suppressed)" in chart.inner_html()
