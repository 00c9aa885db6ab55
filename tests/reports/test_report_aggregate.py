"""The aggregate report against the store it was built from: numbers, funnel, deletion times,
and every output format (JSON, CSV, HTML with SVG charts, the single-deployment page)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

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
from tests.reports.conftest import FACE_FRAMES, FEED_FRAMES


def _period(sc: Any) -> AggregateReport:
    now = utcnow()
    return aggregate(sc.ctx, now - timedelta(days=1), now + timedelta(days=1))


def _db(sc: Any, sql: str, **params: object) -> list[tuple]:
    with sc.ctx.store.session() as s:
        return [tuple(row) for row in s.execute(text(sql), params)]


def test_period_selects_deployments_by_start(scenario: Any) -> None:
    rep = _period(scenario)
    ids = [r.deployment_id for r in rep.deployments]
    # The future one starts outside the period; the draft was never authorised, the refused
    # and the withdrawn requests never became deployments. The one that did not run is listed.
    assert ids == [scenario.dep_a, scenario.dep_b, scenario.dep_failed]
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
    # What the camera showed: one person walking past, their face on FACE_FRAMES frames.
    assert FACE_FRAMES == 97
    a, b, _failed = rep.deployments
    for r in (a, b):
        assert (r.people_seen, r.face_detections, r.frames) == (1, FACE_FRAMES, FEED_FRAMES)
        assert (r.status, r.end_reason, r.did_not_run) == ("ended", "source ended", False)
    # The published counts are the store's own: tracks for people, faces for detections.
    [(tracks, faces, frames)] = _db(
        scenario,
        "SELECT SUM(tracks), SUM(faces), SUM(frames) FROM deployment_counters "
        "WHERE deployment_id IN (:a, :b)",
        a=scenario.dep_a,
        b=scenario.dep_b,
    )
    assert (tracks, faces, frames) == (2, 2 * FACE_FRAMES, 2 * FEED_FRAMES)
    assert (t.people_seen, t.face_detections, t.frames, t.cameras) == (2, 194, 300, 2)
    assert (t.deployments, t.alerts, t.confirmed, t.false_alerts, t.arrests) == (2, 2, 1, 1, 1)
    assert t.outcomes["arrested"] == 1 and sum(t.outcomes.values()) == 1
    # One false alert among 2 people seen: 500 per 1,000 (per face detection it would be 5.15).
    assert t.false_alerts_per_1000_people == 500.0
    assert (a.confirmed, a.arrests, a.false_alerts, a.false_alerts_per_1000_people) == (
        1,
        1,
        0,
        0.0,
    )
    assert (b.confirmed, b.false_alerts, b.false_alerts_per_1000_people) == (0, 1, 1000.0)
    assert a.authorising_rank == "superintendent"
    assert a.watchlist_size_by_category["wanted_by_courts"] == 1
    assert b.watchlist_size_by_category["missing_vulnerable"] == 1
    # Outcomes by the category of the watchlist entry that matched.
    by_cat = t.alert_results_by_category
    assert by_cat["wanted_by_courts"]["arrested"] == 1
    assert by_cat["missing_vulnerable"]["false_alert"] == 1
    assert sum(sum(row.values()) for row in by_cat.values()) == t.alerts


def test_a_deployment_that_did_not_run_is_shown_and_counted_apart(scenario: Any) -> None:
    rep = _period(scenario)
    failed = rep.deployments[-1]
    assert failed.deployment_id == scenario.dep_failed
    assert (failed.status, failed.did_not_run, failed.end_reason) == (
        "ended",
        True,
        "did not run: camera failed",
    )
    assert (failed.frames, failed.people_seen, failed.face_detections, failed.alerts) == (0,) * 4
    assert failed.cameras == ["gate"]
    t = rep.totals
    # Not an ordinary deployment: counted on its own, its camera not among the cameras used.
    assert (t.deployments, t.did_not_run, t.cameras) == (2, 1, 2)
    # R9 still applies to its watchlist: it is in the deletion figures.
    assert failed.deletion.watchlist_purge == "not yet purged"
    assert t.watchlist_purge == {"not yet purged": 2, "purged on time": 1}
    # The stored reason names the missing file; the published one does not.
    [(stored, run_failed)] = _db(
        scenario, "SELECT end_reason, run_failed FROM deployments WHERE id = :i",
        i=scenario.dep_failed,
    )  # fmt: skip
    assert stored.startswith("did not run: camera failed") and bool(run_failed)
    assert "ZQX-camera-gone" in stored


def test_refused_and_withdrawn_requests_are_counted_not_listed(scenario: Any) -> None:
    rep = _period(scenario)
    ids = {r.deployment_id for r in rep.deployments}
    assert not ids & {scenario.dep_refused, scenario.dep_withdrawn, scenario.dep_draft}
    assert (rep.totals.refused, rep.totals.withdrawn) == (1, 1)
    for dep in (scenario.dep_refused, scenario.dep_withdrawn, scenario.dep_draft):
        [(status,)] = _db(scenario, "SELECT status FROM deployments WHERE id = :i", i=dep)
        assert status in {"refused", "withdrawn", "draft"}


def test_funnel(scenario: Any) -> None:
    rep = _period(scenario)
    stages = {s.key: s.count for s in rep.funnel}
    main = [s.key for s in rep.funnel if s.level == 0]
    assert main == ["people_seen", "alerts", "confirmed", "arrests"]
    assert (stages["people_seen"], stages["alerts"], stages["confirmed"]) == (2, 2, 1)
    assert stages["arrests"] == 1
    assert stages["false_alerts"] == 1 and stages["charged_or_cautioned"] == 0
    counts = [s.count for s in rep.funnel if s.level == 0]
    assert counts == sorted(counts, reverse=True)  # a funnel narrows


def test_deletion_times_are_honest(scenario: Any) -> None:
    a, b, _ = _period(scenario).deployments
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
    assert body["schema"] == "openlfr.report/2"
    assert body["totals"]["alerts"] == 2 and body["totals"]["arrests"] == 1
    assert (body["totals"]["people_seen"], body["totals"]["face_detections"]) == (2, 194)
    assert body["totals"]["false_alerts_per_1000_people"] == 500.0
    assert (body["totals"]["did_not_run"], body["totals"]["refused"]) == (1, 1)
    assert [d["deployment_id"] for d in body["deployments"]] == [
        scenario.dep_a,
        scenario.dep_b,
        scenario.dep_failed,
    ]
    assert "faces_seen" not in body["deployments"][0] and "faces_seen" not in body["totals"]
    assert [(d["status"], d["end_reason"], d["did_not_run"]) for d in body["deployments"]] == [
        ("ended", "source ended", False),
        ("ended", "source ended", False),
        ("ended", "did not run: camera failed", True),
    ]
    assert body["funnel"][0] == {
        "key": "people_seen",
        "label": "people seen",
        "count": 2,
        "level": 0,
    }
    # The field descriptions travel with the figures.
    defs = body["definitions"]
    assert "face track" in defs["people_seen"] and "NPL" in defs["people_seen"]
    assert "frame" in defs["face_detections"] and "Not a count of people" in defs["face_detections"]
    assert "per 1,000 people seen" in defs["false_alerts_per_1000_people"].replace("False", "")
    one = json.loads(record_json(load_public_record(scenario.ctx, scenario.dep_a)))
    assert one["deletion"]["watchlist_purge"] == "purged on time"
    assert (one["people_seen"], one["face_detections"]) == (1, FACE_FRAMES)
    assert one["definitions"] == defs


def test_csv_one_row_per_deployment_and_totals(scenario: Any) -> None:
    rep = _period(scenario)
    rows = list(csv.DictReader(io.StringIO(to_csv(rep))))
    assert list(rows[0]) == csv_columns()
    assert [r["deployment_id"] for r in rows] == [
        str(scenario.dep_a),
        str(scenario.dep_b),
        str(scenario.dep_failed),
        "TOTAL",
    ]
    total = rows[-1]
    assert (total["people_seen"], total["face_detections"]) == ("2", "194")
    assert total["false_alerts_per_1000_people"] == "500.0"
    assert total["name"] == "2 deployments; 1 did not run; 1 refused; 1 withdrawn"
    assert (rows[2]["end_reason"], rows[2]["did_not_run"]) == ("did not run: camera failed", "True")
    assert [r["status"] for r in rows[:-1]] == ["ended"] * 3
    # The CSV says in words what its rate and its counts are, on every row.
    for row in rows:
        assert "per 1,000 people seen" in row["rate_basis"]
        assert "not face detections" in row["rate_basis"]
    assert (total["alerts"], total["confirmed"], total["false_alerts"], total["arrests"]) == (
        "2",
        "1",
        "1",
        "1",
    )
    assert rows[0]["alerts_wanted_by_courts_arrested"] == "1"
    assert rows[1]["alerts_missing_vulnerable_false_alert"] == "1"
    assert rows[1]["watchlist_purge"] == "not yet purged"
    for col in ("people_seen", "face_detections", "alerts", "confirmed", "false_alerts", "arrests"):
        assert int(total[col]) == sum(int(r[col]) for r in rows[:-1])


def test_html_has_charts_and_tables(scenario: Any) -> None:
    html = to_html(_period(scenario))
    assert html.startswith("<!DOCTYPE html>")
    assert html.count("<svg") == 4  # funnel, outcomes by category, false-alert rate, by reason
    for needle in ("From people seen to outcomes", "Outcomes by watchlist category",
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


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_html_says_what_people_seen_and_detections_are(scenario: Any) -> None:
    words = _text(to_html(_period(scenario)))
    assert "2 people seen" in words and "194 face detections" in words
    assert "500.0 false alerts per 1,000 people seen" in words
    assert "faces seen" not in words and "1,000 faces" not in words
    # The definitions, in words, beside the figures.
    assert "each counted once however many video frames showed them" in words
    assert "one face track per person, as the NPL evaluation counts them" in words
    assert "Not a count of people" in words
    for card in ("2 deployments that ran", "1 authorised, did not run", "1 requests refused",
                 "1 requests withdrawn"):  # fmt: skip
        assert card in words, card
    row = re.search(
        rf"#{scenario.dep_failed} Operation Gamma.*?</tr>", to_html(_period(scenario)), re.S
    )
    assert row is not None and "did not run: camera failed" in _text(row.group(0))
    page = _text(record_html(load_public_record(scenario.ctx, scenario.dep_failed)))
    assert "Status: did not run. Ended: did not run: camera failed." in page
    assert "no camera worked, so nobody was searched" in page
    one = _text(record_html(load_public_record(scenario.ctx, scenario.dep_b)))
    assert f"people seen 1 1 face detections 2 {FACE_FRAMES}" in one.replace(",", "")
    assert "false alerts per 1,000 people seen 3 1000.0" in one


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
