"""The aggregate report against the store it was built from: numbers, funnel, deletion times,
and every output format (JSON, CSV, HTML with SVG charts, the single-deployment page)."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import timedelta
from typing import Any

import pytest

from openlfr.reports import (
    AggregateReport,
    aggregate,
    csv_columns,
    load_public_record,
    record_html,
    record_json,
    to_csv,
    to_html,
    to_json,
)
from openlfr.service.context import utcnow


def _period(sc: Any) -> AggregateReport:
    now = utcnow()
    return aggregate(sc.ctx, now - timedelta(days=1), now + timedelta(days=1))


def _db(sc: Any, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(sc.workdir / "store" / "openlfr.db") as conn:
        return conn.execute(sql, args).fetchall()


def test_period_selects_deployments_by_start(scenario: Any) -> None:
    rep = _period(scenario)
    ids = [r.deployment_id for r in rep.deployments]
    # The future one starts outside the period; the draft was never authorised.
    assert ids == [scenario.dep_a, scenario.dep_b]
    later = aggregate(scenario.ctx, utcnow() + timedelta(days=399), utcnow() + timedelta(days=402))
    assert [r.deployment_id for r in later.deployments] == [scenario.dep_future]
    # [start, end): a period ending exactly at a deployment's start leaves it out.
    with scenario.ctx.store.session() as s:
        from openlfr.store import models as m

        dep = s.get(m.Deployment, scenario.dep_a)
        assert dep is not None
        start_a = dep.start_at
    edge = aggregate(scenario.ctx, start_a - timedelta(hours=1), start_a)
    assert scenario.dep_a not in [r.deployment_id for r in edge.deployments]


def test_numbers_match_the_store(scenario: Any) -> None:
    rep = _period(scenario)
    t = rep.totals
    ids = (scenario.dep_a, scenario.dep_b)
    [(faces, frames)] = _db(
        scenario,
        "SELECT SUM(faces), SUM(frames) FROM deployment_counters WHERE deployment_id IN (?, ?)",
        *ids,
    )
    assert faces > 0 and (t.faces_seen, t.frames) == (faces, frames)
    assert (t.deployments, t.alerts, t.confirmed, t.false_alerts, t.arrests) == (2, 2, 1, 1, 1)
    assert t.outcomes["arrested"] == 1 and sum(t.outcomes.values()) == 1
    assert t.false_alert_rate_per_1000_faces == round(1000 / faces, 4)
    a, b = rep.deployments
    assert (a.confirmed, a.arrests, a.false_alerts) == (1, 1, 0)
    assert (b.confirmed, b.false_alerts, b.false_alert_rate_per_1000_faces) == (
        0,
        1,
        round(1000 / b.faces_seen, 4),
    )
    assert a.authorising_rank == "superintendent"
    assert a.watchlist_size_by_category["wanted_by_courts"] == 1
    assert b.watchlist_size_by_category["missing_vulnerable"] == 1
    # Outcomes by the category of the watchlist entry that matched.
    by_cat = t.alert_results_by_category
    assert by_cat["wanted_by_courts"]["arrested"] == 1
    assert by_cat["missing_vulnerable"]["false_alert"] == 1
    assert sum(sum(row.values()) for row in by_cat.values()) == t.alerts


def test_funnel(scenario: Any) -> None:
    rep = _period(scenario)
    stages = {s.key: s.count for s in rep.funnel}
    main = [s.key for s in rep.funnel if s.level == 0]
    assert main == ["faces_seen", "alerts", "confirmed", "arrests"]
    assert stages["faces_seen"] == rep.totals.faces_seen
    assert (stages["alerts"], stages["confirmed"], stages["arrests"]) == (2, 1, 1)
    assert stages["false_alerts"] == 1 and stages["charged_or_cautioned"] == 0
    counts = [s.count for s in rep.funnel if s.level == 0]
    assert counts == sorted(counts, reverse=True)  # a funnel narrows


def test_deletion_times_are_honest(scenario: Any) -> None:
    a, b = _period(scenario).deployments
    assert a.deletion.watchlist_purge == "purged on time"
    assert a.deletion.watchlist_purge_hours_after_end == pytest.approx(24.0)
    # The purge deleted A's entries; the published sizes come from its manifest (R16).
    assert a.watchlist_size_by_category["wanted_by_courts"] == 1
    # Nothing purged B's watchlist yet: the record says so rather than inventing a time.
    assert b.deletion.watchlist_purged_at is None
    assert b.deletion.watchlist_purge == "not yet purged"
    assert a.deletion.alert_data_kept_for_outcome == 1  # the arrest needs it (R10)
    assert b.deletion.alert_data_not_yet_purged == 1 and b.deletion.alert_data_overdue == 0


def test_json(scenario: Any) -> None:
    rep = _period(scenario)
    body = json.loads(to_json(rep))
    assert body["schema"] == "openlfr.report/1"
    assert body["totals"]["alerts"] == 2 and body["totals"]["arrests"] == 1
    assert [d["deployment_id"] for d in body["deployments"]] == [scenario.dep_a, scenario.dep_b]
    assert body["funnel"][0] == {
        "key": "faces_seen",
        "label": "faces seen",
        "count": rep.totals.faces_seen,
        "level": 0,
    }
    one = json.loads(record_json(load_public_record(scenario.ctx, scenario.dep_a)))
    assert one["deletion"]["watchlist_purge"] == "purged on time"


def test_csv_one_row_per_deployment_and_totals(scenario: Any) -> None:
    rep = _period(scenario)
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert list(rows[0]) == csv_columns()
    assert [r["deployment_id"] for r in rows] == [str(scenario.dep_a), str(scenario.dep_b), "TOTAL"]
    total = rows[-1]
    assert int(total["faces_seen"]) == rep.totals.faces_seen
    assert (total["alerts"], total["confirmed"], total["false_alerts"], total["arrests"]) == (
        "2",
        "1",
        "1",
        "1",
    )
    assert rows[0]["alerts_wanted_by_courts_arrested"] == "1"
    assert rows[1]["alerts_missing_vulnerable_false_alert"] == "1"
    assert rows[1]["watchlist_purge"] == "not yet purged"
    for col in ("faces_seen", "alerts", "confirmed", "false_alerts", "arrests"):
        assert int(total[col]) == sum(int(r[col]) for r in rows[:-1])


def test_html_has_charts_and_tables(scenario: Any) -> None:
    html = to_html(_period(scenario))
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 3  # funnel, outcomes by category, false-alert rate
    for needle in ("From faces seen to outcomes", "Outcomes by watchlist category",
                   "False-alert rate per deployment", "Deletion times achieved",
                   "wanted by the courts", "not yet purged", "purged on time"):  # fmt: skip
        assert needle in html, needle
    # Standalone: nothing fetched from elsewhere, no script.
    for outside in ("<script", "<link", "src=", "@import", "<metadata"):
        assert outside not in html, outside
    # The only links are the SVGs' references to their own shapes and clip paths.
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', html))
    assert all(u.startswith("#") for u in re.findall(r"url\(([^)]*)\)", html))
    page = record_html(load_public_record(scenario.ctx, scenario.dep_a))
    assert page.count("<svg") == 2 and f"Deployment record #{scenario.dep_a}" in page


def test_empty_period_and_bad_period(scenario: Any) -> None:
    far = utcnow() + timedelta(days=3000)
    rep = aggregate(scenario.ctx, far, far + timedelta(days=1))
    assert rep.deployments == [] and rep.totals.alerts == 0
    assert "No deployment started in this period" in to_html(rep)
    assert to_csv(rep).count("\n") == 2  # header and totals
    with pytest.raises(ValueError, match="end after"):
        aggregate(scenario.ctx, far, far)
    with pytest.raises(ValueError, match="timezone-aware"):
        aggregate(scenario.ctx, far.replace(tzinfo=None), far + timedelta(days=1))
