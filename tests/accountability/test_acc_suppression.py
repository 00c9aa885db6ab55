"""Small-count suppression (issue 13): the pure rule, table-driven, and end to end: a count of 3
arrests for one reason never reaches any public output (report HTML, chart, JSON, CSV, /public),
neither as itself nor by subtraction from a published total."""

from __future__ import annotations

import csv
import html as html_text
import io
import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from acc_support import SUPT, OpenCtx, draft, enrol, seed_alerts
from fastapi.testclient import TestClient

from openlfr.api import create_app
from openlfr.domain.reasons import ReasonWanted
from openlfr.domain.suppression import (
    SMALL,
    SMALL_COUNT,
    WITHHELD,
    Published,
    suppress_cells,
    suppress_small,
)
from openlfr.reports import aggregate, to_csv, to_html, to_json
from openlfr.reports.by_reason import published_rows
from openlfr.service.alerts import Outcome
from openlfr.service.deployments import authorise_deployment
from openlfr.service.reasons_wanted import outcomes_by_reason
from openlfr.service.watchlists import compile_watchlist


@pytest.mark.parametrize(
    ("count", "shown"), [(0, 0), (1, SMALL), (SMALL_COUNT - 1, SMALL), (SMALL_COUNT, SMALL_COUNT)]
)
def test_suppress_small(count: int, shown: Published) -> None:
    assert suppress_small(count) == shown


Lines = list[list[str]]
CASES: list[tuple[str, dict[str, int], Lines, dict[str, Published]]] = [
    ("nothing small", {"a": 9, "b": 6, "t": 15}, [["a", "b", "t"]], {}),
    # b = t - a: a lone small cell takes the smallest visible non-zero cell of its line with it.
    ("lone small in a row", {"a": 10, "b": 3, "t": 13}, [["a", "b", "t"]],
     {"b": SMALL, "a": WITHHELD}),
    ("the total is the smallest", {"a": 20, "b": 3, "t": 8}, [["a", "b", "t"]],
     {"b": SMALL, "t": WITHHELD}),
    ("two small in a line", {"a": 2, "b": 3, "t": 5}, [["a", "b", "t"]],
     {"a": SMALL, "b": SMALL}),
    # Zeros single nobody out and are never hidden; the total of a lone cell is small itself.
    ("zeros stay", {"a": 0, "b": 3, "t": 3}, [["a", "b", "t"]], {"b": SMALL, "t": SMALL}),
    ("nothing to pair with", {"a": 3, "b": 0}, [["a", "b"]], {"a": SMALL}),
    ("tie: first in line", {"a": 6, "b": 6, "c": 2}, [["a", "b", "c"]],
     {"c": SMALL, "a": WITHHELD}),
    # Withholding a in the row leaves a alone in its column: d goes too.
    ("cascade to a column", {"s": 3, "a": 6, "t": 9, "d": 7}, [["s", "a", "t"], ["a", "d"]],
     {"s": SMALL, "a": WITHHELD, "d": WITHHELD}),
    ("no lines: primary only", {"a": 3, "b": 8}, [], {"a": SMALL}),
]  # fmt: skip


@pytest.mark.parametrize(("counts", "lines", "hidden"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_suppress_cells(counts: dict[str, int], lines: Lines, hidden: dict[str, Published]) -> None:
    shown = suppress_cells(counts, lines)
    assert shown == {k: hidden.get(k, n) for k, n in counts.items()}
    _no_line_gives_a_small_cell_away(counts, lines, shown)


def _no_line_gives_a_small_cell_away(
    counts: dict[str, int], lines: Iterable[Sequence[str]], shown: dict[str, Published]
) -> None:
    """A line with exactly one hidden cell is only left so when every other cell is zero."""
    for line in lines:
        hidden = [c for c in line if isinstance(shown[c], str)]
        if len(hidden) == 1:
            assert all(counts[c] == 0 for c in line if c not in hidden), (line, shown)


def test_suppress_cells_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="negative"):
        suppress_cells({"a": -1}, [])
    with pytest.raises(KeyError, match="no count"):
        suppress_cells({"a": 1}, [["a", "b"]])


def test_published_rows_never_leave_a_small_count_derivable() -> None:
    bailed = "bailed_or_released_under_investigation"
    raw = {"failing_to_appear": {"charged_or_cautioned": 3, bailed: 6},
           "vawg_offence": {"charged_or_cautioned": 7}}  # fmt: skip
    rows = {r.reason: r for r in published_rows(raw)}
    fta, vawg = rows["failing_to_appear"], rows["vawg_offence"]
    assert fta.outcomes["charged_or_cautioned"] == SMALL
    # Row: arrests 9 = 3 + 6; column: 10 charged in the funnel = 3 + 7. All four partners go.
    assert fta.arrests == WITHHELD and fta.outcomes[bailed] == WITHHELD
    assert vawg.outcomes["charged_or_cautioned"] == WITHHELD and vawg.arrests == WITHHELD
    assert "not_recorded" not in rows  # listed only when some alert has no reason


def _by_reason_cells(html: str) -> list[str]:
    table = re.search(r'<table[^>]*id="by-reason".*?</table>', html, re.S)
    assert table is not None, "no by-reason table"
    return [
        html_text.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<td[^>]*>(.*?)</td>", table[0], re.S)
    ]


def test_a_count_of_three_never_appears_in_any_public_output(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(0)
    enrol(ctx, "PNC-S1", "AJ_Cook", "wanted_by_courts", "failing_to_appear")
    enrol(ctx, "PNC-S2", "Abdullah_Gul", "suspect", "vawg_offence")
    dep = draft(ctx, compile_watchlist(ctx, "Op Three").id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    seed_alerts(ctx, dep, "PNC-S1", ["charged_or_cautioned"] * 3 + ["no_further_action"] * 6)
    seed_alerts(ctx, dep, "PNC-S2", ["charged_or_cautioned"] * 8)
    raw = outcomes_by_reason(ctx, [dep])
    assert raw["failing_to_appear"]["charged_or_cautioned"] == 3  # the count that must not show
    now = datetime.now(UTC)
    rep = aggregate(ctx, now - timedelta(days=1), now + timedelta(days=1))
    body = json.loads(to_json(rep))["accountability"]
    published = [v for r in body["by_reason"] for v in [r["arrests"], *r["outcomes"].values()]]
    assert SMALL in published and WITHHELD in published and 3 not in published
    (total,) = [
        r for r in csv.DictReader(io.StringIO(to_csv(rep))) if r["deployment_id"] == "TOTAL"
    ]
    by_reason = {k: v for k, v in total.items() if k.startswith("reason_")}
    assert by_reason["reason_failing_to_appear_charged_or_cautioned"] == SMALL
    assert "3" not in by_reason.values() and len(by_reason) == (len(ReasonWanted) + 1) * (
        len(Outcome) + 1
    )
    cells = _by_reason_cells(to_html(rep))
    assert SMALL in cells and "3" not in cells
    app = create_app(ctx.settings, store=ctx.store)
    today = now.date()
    with TestClient(app, base_url="http://testserver") as client:
        page = client.get(f"/public?from={today}&to={today + timedelta(days=1)}")
        assert page.status_code == 200
        public = _by_reason_cells(page.text)
        assert SMALL in public and "3" not in public
        served = client.get(f"/public/report.json?from={today}&to={today + timedelta(days=1)}")
        assert served.json()["accountability"] == body
