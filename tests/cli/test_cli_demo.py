"""`openlfr demo`: the README's first command ends with a true alert and no false one, and can
be run again on the same store."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import Result


@pytest.mark.slow
def test_demo_runs_twice_with_one_true_alert_and_one_refusal(cli: Callable[..., Result]) -> None:
    for run in (1, 2):
        result = cli("demo")
        assert result.exit_code == 0, result.stdout + result.stderr
        assert "true alerts: 1, false alerts: 0" in result.stdout
        assert "refused" in result.stdout and "R3" in result.stdout
        assert f"deployment {run} authorised" in result.stdout
    record = cli("deployment", "record", "2", "--json")
    rec = json.loads(record.stdout)
    assert rec["alerts"] == 1 and rec["people_seen"] > 0 and rec["authorising_rank"]
    assert cli("audit", "verify").exit_code == 0
