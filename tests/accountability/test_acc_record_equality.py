"""The deployment record's equality section: the newest per-group rates at the deployment's
threshold with their date, or "no measurement"; stale ones carry the max-age warning."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session
from test_acc_equality import _result, _settings

from openlfr.service import record_equality as sec
from openlfr.service.context import utcnow
from openlfr.service.equality import record_equality
from openlfr.store import models as m


def _session(tmp_path: Path, max_age: int = 30) -> Session:
    return Session(info={sec.SETTINGS_KEY: _settings(tmp_path, max_age)})


def test_no_measurement(tmp_path: Path) -> None:
    out = sec.section(_session(tmp_path), m.Deployment(threshold=0.42))["equality"]
    assert out["measured_at"] is None and out["groups"] == [] and out["warning"] == "no measurement"


def test_current_and_stale_measurement(tmp_path: Path) -> None:
    s = _session(tmp_path)
    record_equality(_settings(tmp_path), _result(0.15), "g", utcnow() - timedelta(days=3))
    out = sec.section(s, m.Deployment(threshold=0.42))["equality"]
    assert out["warning"] is None and out["threshold"] == 0.42
    assert {g["group"] for g in out["groups"]} == {"x", "y"}
    assert out["measured_at"][:10] == (utcnow() - timedelta(days=3)).date().isoformat()
    stale = sec.section(_session(tmp_path, max_age=1), m.Deployment(threshold=0.42))["equality"]
    assert stale["warning"] is not None and "older than 1 days" in stale["warning"]
