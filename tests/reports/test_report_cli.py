"""`openlfr report --from DATE --to DATE --format html|csv|json [--out FILE]` on the scenario's
store: each format, the file option, and exit 2 for dates that are not dates or out of order."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from openlfr.cli import app
from openlfr.service.context import utcnow


@pytest.fixture
def report(scenario: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from openlfr.cli import common

    monkeypatch.setenv("COLUMNS", "4000")  # one message, one line
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)
    store = scenario.workdir / "store"
    for name, value in scenario.env.items():  # the same store, on either backend
        monkeypatch.setenv(name, value)

    def invoke(*args: object) -> Result:
        result = CliRunner().invoke(app, ["--store-dir", str(store), "report", *map(str, args)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def _days(n: int) -> str:
    return (utcnow() + timedelta(days=n)).date().isoformat()


def test_json_to_stdout(report: Any, scenario: Any) -> None:
    res = report("--from", _days(-1), "--to", _days(2), "--format", "json")
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert [d["deployment_id"] for d in body["deployments"]] == [
        scenario.dep_a,
        scenario.dep_b,
        scenario.dep_failed,
    ]
    t = body["totals"]
    assert (t["arrests"], t["people_seen"], t["face_detections"], t["did_not_run"]) == (
        1,
        2,
        194,
        1,
    )
    # A date without an offset is a UTC date.
    assert body["start"] == f"{_days(-1)}T00:00:00+00:00"


def test_csv_and_html_to_files(report: Any, scenario: Any, tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    res = report("--from", _days(-1), "--to", _days(2), "--format", "csv", "--out", out)
    assert res.exit_code == 0, res.output
    # Three listed, told apart: two that ran and the one that did not run.
    assert res.stdout == "" and "deployments: 2 ran, 1 did not run;" in res.stderr
    lines = out.read_text().splitlines()
    assert len(lines) == 5 and lines[-1].startswith("TOTAL,2 deployments; 1 did not run;")
    page = tmp_path / "report.html"
    res = report("--from", _days(-1), "--to", _days(2), "--out", page)  # html is the default
    assert res.exit_code == 0, res.output
    assert page.read_text().count("<svg") == 4  # the four charts of the HTML report


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("yesterday", "2030-01-01", "not an ISO 8601 date"),
        ("2026-01-01", "2026-13-01", "not an ISO 8601 date"),
        ("2026-02-01", "2026-01-01", "must be after"),
        ("2026-01-01", "2026-01-01", "must be after"),
    ],
)
def test_bad_dates_exit_2(report: Any, start: str, end: str, message: str) -> None:
    res = report("--from", start, "--to", end, "--format", "json")
    assert res.exit_code == 2, res.output
    assert message in res.stderr and res.stdout == ""


def test_unknown_format_and_unwritable_file_exit_2(report: Any, tmp_path: Path) -> None:
    assert report("--from", "2026-01-01", "--to", "2026-02-01", "--format", "pdf").exit_code == 2
    res = report("--from", "2026-01-01", "--to", "2026-02-01", "--out", tmp_path / "no" / "x.html")
    assert res.exit_code == 2 and "cannot write" in res.stderr
