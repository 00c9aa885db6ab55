"""A whole deployment through the CLI on a real clip, then an attacker's edit of the audit log.

enrol (a frame of WDA_KatieHill's clip + two LFW people) -> watchlist build -> deployment
create -> run refused before authorisation -> authorise refused for an inspector (R5), accepted
for a superintendent -> run -> alerts list / adjudicate / outcome / images -> deployment record
-> audit verify -> tamper with a middle row -> audit verify names that row.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import Result

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"
CLIP = DATA / "video" / "WDA_KatieHill_000.mp4"
OTHERS = ["AJ_Cook", "Aaron_Patterson"]

Cli = Callable[..., Result]


def _query(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.output}"
    return result


def _new_deployment(cli: Cli, watchlist_id: int, name: str) -> int:
    out = _ok(
        cli(
            "deployment", "create", "--name", name, "--purpose", "locate a wanted suspect",
            "--location", "High Street", "--location-reason", "sightings reported there",
            "--watchlist", watchlist_id, "--camera", f"cam1={CLIP}", "--hours", "2",
            "--equality-note", "threshold at the calibrated floor; demographic review done",
        )
    ).stdout  # fmt: skip
    return int(re.search(r"deployment (\d+) drafted", out).group(1))  # type: ignore[union-attr]


def _authorise_and_run(cli: Cli, dep_id: int) -> Result:
    _ok(cli("deployment", "authorise", dep_id, "--officer", "A Smith", "--rank", "superintendent"))
    return _ok(cli("deployment", "run", dep_id))


@pytest.mark.slow
def test_cli_deployment_end_to_end(
    cli: Cli, db_file: Path, katie_ref: Path, tmp_path: Path
) -> None:
    # --- enrol and compile ---------------------------------------------------------------
    common = ("--category", "suspect", "--source", "CUST-7", "--age", "30")
    _ok(cli("enrol", "--ref", "WDA_KatieHill", *common, katie_ref))
    for name in OTHERS:
        _ok(cli("enrol", "--ref", name, *common, LFW / name / f"{name}_0001.jpg"))
    built = _ok(cli("watchlist", "build", "--name", "Operation Test")).stdout
    wl_id = int(re.search(r"watchlist (\d+) ", built).group(1))  # type: ignore[union-attr]
    assert "3 subjects" in built

    dep_id = _new_deployment(cli, wl_id, "Operation Test")

    # --- no run before authorisation; an inspector may not authorise (R5) ------------------
    early = cli("deployment", "run", dep_id)
    assert early.exit_code == 2 and "R5" in early.stderr and "draft" in early.stderr
    low = cli("deployment", "authorise", dep_id, "--officer", "B Jones", "--rank", "inspector")
    assert low.exit_code == 2
    assert "R5" in low.stderr and "inspector" in low.stderr.lower()
    assert _query(db_file, "SELECT status FROM deployments WHERE id = ?", dep_id) == [("draft",)]

    ran = _authorise_and_run(cli, dep_id)
    assert "cam1" in ran.stdout

    # --- alerts: on the enrolled person, none on the others ----------------------------------
    alerts = _query(
        db_file,
        "SELECT a.id, s.reference, a.status FROM alerts a JOIN subjects s ON s.id = a.subject_id "
        "WHERE a.deployment_id = ? ORDER BY a.id",
        dep_id,
    )
    refs = [a[1] for a in alerts]
    assert "WDA_KatieHill" in refs, alerts
    assert not set(refs) & set(OTHERS), alerts
    alert_id = alerts[0][0]

    listed = _ok(cli("alerts", "list", "--deployment", dep_id)).stdout
    row = next(ln for ln in listed.splitlines() if re.search(rf"\b{alert_id}\b.*WDA_KatieHill", ln))
    assert "pending" in row

    # --- a person decides; once -----------------------------------------------------------
    _ok(cli("alerts", "adjudicate", alert_id, "confirmed", "--reason", "same face side by side"))
    again = cli("alerts", "adjudicate", alert_id, "false_alert", "--reason", "second thoughts")
    assert again.exit_code == 2 and "already adjudicated" in again.stderr
    _ok(cli("alerts", "outcome", alert_id, "arrested"))
    assert _query(db_file, "SELECT status, outcome FROM alerts WHERE id = ?", alert_id) == [
        ("confirmed", "arrested")
    ]

    # An outcome follows only a confirmed match: a second deployment's alert, still pending.
    dep2 = _new_deployment(cli, wl_id, "Operation Test 2")
    _authorise_and_run(cli, dep2)
    (pending_id,) = _query(db_file, "SELECT min(id) FROM alerts WHERE deployment_id = ?", dep2)[0]
    assert pending_id is not None
    refused = cli("alerts", "outcome", pending_id, "arrested")
    assert refused.exit_code == 2 and "R13" in refused.stderr
    _ok(cli("alerts", "adjudicate", pending_id, "false_alert", "--reason", "not the same person"))
    assert cli("alerts", "outcome", pending_id, "engaged_no_arrest").exit_code == 2
    assert _query(db_file, "SELECT outcome FROM alerts WHERE id = ?", pending_id) == [(None,)]

    # --- the published record ------------------------------------------------------------
    record = json.loads(_ok(cli("deployment", "record", dep_id, "--json")).stdout)
    assert record["deployment_id"] == dep_id
    assert record["people_seen"] > 0 and record["face_detections"] >= record["people_seen"]
    assert record["alerts"] == len(alerts) >= 1
    assert record["confirmed"] == 1
    assert record["outcomes"] == {"arrested": 1}
    assert record["authorising_rank"] == "superintendent"

    # --- viewing an alert's images is an audited consultation ------------------------------
    def consultations() -> int:
        return _query(
            db_file,
            "SELECT count(*) FROM audit_log WHERE action = 'consultation' "
            "AND object_type = 'alert' AND object_id = ?",
            str(alert_id),
        )[0][0]

    before = consultations()
    out = tmp_path / "review"
    _ok(cli("alerts", "images", alert_id, "--out", out, "--reason", "review of confirmed match"))
    written = sorted(out.iterdir())
    assert [p.name for p in written] == [
        f"alert{alert_id}_probe.jpg",
        f"alert{alert_id}_reference.jpg",
    ]
    for p in written:
        with Image.open(p) as im:
            assert im.format == "JPEG" and min(im.size) > 0
    with Image.open(out / f"alert{alert_id}_reference.jpg") as im, Image.open(katie_ref) as ref:
        assert im.size == ref.size  # the watchlist image is the reference that was enrolled
    assert consultations() == before + 1

    # --- the audit chain: intact, then an attacker's edit is found -------------------------
    (rows,) = _query(db_file, "SELECT count(*) FROM audit_log")[0]
    verified = _ok(cli("audit", "verify"))
    assert re.search(rf"\b{rows} rows checked", verified.stdout), verified.stdout

    middle = rows // 2
    with sqlite3.connect(db_file) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET justification = 'x' WHERE id = ?", (middle,))
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute(
            "UPDATE audit_log SET justification = 'nothing to see here' WHERE id = ?", (middle,)
        )
    tampered = cli("audit", "verify", "--db", db_file, store_dir=False)
    assert tampered.exit_code == 1, tampered.output
    assert re.search(rf"first bad row {middle}\b", tampered.stderr), tampered.stderr
