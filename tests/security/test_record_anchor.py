"""Issue 9 item 1: each published record carries the latest signed audit head, and what it
shows is an anchor `openlfr audit verify --anchor` accepts (and that catches a cut log)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from insider_support import append_rows, drop_triggers, sql, verify

from openlfr.config import StoreSettings
from openlfr.reports.render import _env
from openlfr.service.record_anchor import section
from openlfr.store import Store
from openlfr.store import models as m
from openlfr.store.models import utcnow


def _section(store: Store, ended: m.Deployment) -> dict[str, object]:
    with store.session() as s:
        return section(s, ended)


def test_nothing_signed_yet_gives_no_section(store: Store) -> None:
    assert _section(store, m.Deployment(ended_at=None)) == {}


def test_the_record_shows_the_latest_signed_head_and_verify_accepts_it(
    store: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    append_rows(store, 25)
    out = _section(store, m.Deployment(ended_at=utcnow() - timedelta(seconds=60)))
    got = out["audit_anchor"]
    assert isinstance(got, dict)
    anchor = got["anchor"]
    assert anchor["audit_id"] == 20 and anchor["checkpoint_id"] == 2
    assert len(anchor["row_hash"]) == 64 and anchor["key_id"] and anchor["signature"]
    assert got["covers_end"] is True
    assert set(anchor) == {"checkpoint_id", "audit_id", "row_hash", "signed_at", "reason",
                           "key_id", "signature"}  # fmt: skip
    # Published as JSON, then saved by a reader: verify accepts it.
    published = json.loads(json.dumps(out))
    path = tmp_path / "from-record.json"
    path.write_text(json.dumps(published["audit_anchor"]["anchor"]), encoding="utf-8")
    ok = verify(settings, monkeypatch, "--anchor", str(path))
    assert ok.exit_code == 0, ok.output
    # The HTML partial prints it.
    html = (
        _env()
        .get_template("record_anchor.html.j2")
        .render(record=SimpleNamespace(sections=published))
    )
    for value in (anchor["row_hash"], anchor["signature"], anchor["key_id"], "20"):
        assert str(value) in html
    # The insider cuts the log back past the published head, checkpoints and all: caught.
    drop_triggers(settings)
    sql(settings, "DELETE FROM audit_checkpoints", "DELETE FROM audit_log WHERE id > 12",
        "UPDATE audit_head SET last_id = 12, last_hash = (SELECT row_hash FROM audit_log "
        "WHERE id = 12) WHERE id = 1")  # fmt: skip
    bad = verify(settings, monkeypatch, "--anchor", str(path))
    assert bad.exit_code == 1 and "anchor" in bad.output, bad.output


def test_a_head_signed_before_the_end_is_flagged(store: Store) -> None:
    append_rows(store, 10)
    later = utcnow() + timedelta(hours=1)
    got = _section(store, m.Deployment(ended_at=later))["audit_anchor"]
    assert isinstance(got, dict) and got["covers_end"] is False
