"""A whole deployment through the CLI on a real clip, each step under the account whose role
it needs, then an attacker's edit of the audit log.

supervisor: enrol (a frame of WDA_KatieHill's clip + two LFW people) -> watchlist build ->
deployment create; operator: run refused before authorisation, authorise refused (role);
supervisor: authorise refused (role); inspector AO: refused (R5, the rank on the account);
superintendent AO: brief, authorise with reasons (name and rank from the account); operator:
run -> alerts list (80 columns) / adjudicate / outcome / images; auditor: audit export ->
deployment record -> audit verify -> tamper with a middle row -> audit verify names that row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import Db
from PIL import Image
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from store_support import as_before_0018
from suite import SHARED_DATA
from typer.testing import Result

from openlfr.store import open_store

LFW = SHARED_DATA / "lfw" / "images"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
OTHERS = ["AJ_Cook", "Aaron_Patterson"]
PEOPLE_IN_CLIP = 1  # one talking head, in view throughout

pytestmark = pytest.mark.usefixtures("shared_data")
Cli = Callable[..., Result]
Login = Callable[[str], None]


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


def _authorise_and_run(cli: Cli, login: Login, dep_id: int) -> Result:
    login("ao")
    _ok(cli("deployment", "authorise", dep_id, "--reasons", "wanted on warrant; seen there"))
    login("ops")
    return _ok(cli("deployment", "run", dep_id))


def _refused_for_role(result: Result, needed: str, who: str) -> None:
    assert result.exit_code == 2, result.output
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert f"needs an {needed} account; {who} is " in line, line


# A whole clip run twice (two deployments) takes ~15 s on SQLite and ~30 s on PostgreSQL on a
# loaded 2-core runner: over the suite's ~20 s a variant, so one backend, the production one.
# The SQLite CLI path is covered by every other test here, run on both backends.
@pytest.mark.slow
@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_cli_deployment_end_to_end(
    cli: Cli, login: Login, db: Db, backend: str, katie_ref: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # --- a supervisor enrols, compiles and drafts -----------------------------------------
    login("sup")
    common = ("--category", "suspect", "--source", "CUST-7", "--age", "30")
    _ok(cli("enrol", "--ref", "WDA_KatieHill", *common, katie_ref))
    for name in OTHERS:
        _ok(cli("enrol", "--ref", name, *common, LFW / name / f"{name}_0001.jpg"))
    built = _ok(cli("watchlist", "build", "--name", "Operation Test")).stdout
    wl_id = int(re.search(r"watchlist (\d+) ", built).group(1))  # type: ignore[union-attr]
    assert "3 subjects" in built

    dep_id = _new_deployment(cli, wl_id, "Operation Test")

    # --- no run before authorisation; only an authorising officer's account authorises -----
    login("ops")
    early = cli("deployment", "run", dep_id)
    assert early.exit_code == 2 and "R5" in early.stderr and "draft" in early.stderr
    reasons = ("--reasons", "wanted on warrant; seen there")
    _refused_for_role(cli("deployment", "authorise", dep_id, *reasons), "authorising_officer",
                      "ops")  # fmt: skip
    login("sup")
    _refused_for_role(cli("deployment", "authorise", dep_id, *reasons), "authorising_officer",
                      "sup")  # fmt: skip
    # The rank is the account's: an inspector's account is refused (R5), whatever is typed.
    login("insp")
    low = cli("deployment", "authorise", dep_id, *reasons)
    assert low.exit_code == 2
    assert "R5" in low.stderr and "inspector" in low.stderr.lower()
    gone = cli("deployment", "authorise", dep_id, *reasons, "--rank", "chief constable")
    assert gone.exit_code == 2 and "No such option" in gone.output
    assert db.query("SELECT status FROM deployments WHERE id = ?", dep_id) == [("draft",)]

    login("ao")
    brief = _ok(cli("deployment", "brief", dep_id)).stdout
    assert all(ref in brief for ref in ["WDA_KatieHill", *OTHERS])
    assert str(CLIP) in brief and "FAILS" not in brief
    ok = _ok(cli("deployment", "authorise", dep_id, *reasons, "--conditions", "signage up"))
    assert f"deployment {dep_id} authorised by superintendent Alex Smith" in ok.stdout
    assert db.query(
        "SELECT status, authorised_by, authoriser_rank, authorisation_reasons, "
        "authorisation_conditions FROM deployments WHERE id = ?",
        dep_id,
    ) == [("authorised", "Alex Smith", "superintendent", reasons[1], "signage up")]
    assert db.query("SELECT actor FROM audit_log WHERE event = 'deployment_authorised'") == [
        ("ao",)
    ]

    login("ops")
    ran = _ok(cli("deployment", "run", dep_id))
    assert "cam1" in ran.stdout

    # --- alerts: on the enrolled person, none on the others ----------------------------------
    alerts = db.query(
        "SELECT a.id, s.reference, a.status FROM alerts a JOIN subjects s ON s.id = a.subject_id "
        "WHERE a.deployment_id = ? ORDER BY a.id",
        dep_id,
    )
    refs = [a[1] for a in alerts]
    assert "WDA_KatieHill" in refs, alerts
    assert not set(refs) & set(OTHERS), alerts
    alert_id = alerts[0][0]

    monkeypatch.setenv("COLUMNS", "80")
    listed = _ok(cli("alerts", "list", "--deployment", dep_id)).stdout
    monkeypatch.setenv("COLUMNS", "4000")
    lines = listed.splitlines()
    assert max(len(ln) for ln in lines) <= 80, listed
    for a_id, _ref, a_status in alerts:  # id and status whole, on the row's first line
        assert any(re.match(rf"\s*{a_id}\s+{dep_id}\s.*\s{a_status}\s*$", ln) for ln in lines), (
            listed
        )
    assert "WDA_KatieHill" in listed

    # --- a person decides; once -----------------------------------------------------------
    _ok(cli("alerts", "adjudicate", alert_id, "confirmed", "--reason", "same face side by side"))
    again = cli("alerts", "adjudicate", alert_id, "false_alert", "--reason", "second thoughts")
    assert again.exit_code == 2 and "already adjudicated" in again.stderr
    _ok(cli("alerts", "outcome", alert_id, "arrested"))
    assert db.query("SELECT status, outcome FROM alerts WHERE id = ?", alert_id) == [
        ("confirmed", "arrested")
    ]

    # An outcome follows only a confirmed match: a second deployment's alert, still pending.
    login("sup")
    dep2 = _new_deployment(cli, wl_id, "Operation Test 2")
    _authorise_and_run(cli, login, dep2)
    (pending_id,) = db.query("SELECT min(id) FROM alerts WHERE deployment_id = ?", dep2)[0]
    assert pending_id is not None
    refused = cli("alerts", "outcome", pending_id, "arrested")
    assert refused.exit_code == 2 and "R13" in refused.stderr
    _ok(cli("alerts", "adjudicate", pending_id, "false_alert", "--reason", "not the same person"))
    assert cli("alerts", "outcome", pending_id, "engaged_no_arrest").exit_code == 2
    assert db.query("SELECT outcome FROM alerts WHERE id = ?", pending_id) == [(None,)]

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
        return db.query(
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

    # --- every act is in the audit log under the account that did it ----------------------
    def actors(event: str) -> set[str]:
        rows = db.query("SELECT DISTINCT actor FROM audit_log WHERE event = ?", event)
        return {r[0] for r in rows}

    assert actors("deployment_drafted") == {"sup"}
    assert actors("deployment_authorised") == {"ao"}
    assert actors("authorisation_refused") == {"insp"}
    adjudications = db.query("SELECT DISTINCT actor FROM audit_log WHERE object_type = 'alert' "
        "AND action = 'alteration'",
    )  # fmt: skip
    assert adjudications == [("ops",)]
    login("aud")
    exported = json.loads(
        _ok(cli("audit", "export", "--from", "2000-01-01", "--to", "2100-01-01")).stdout
    )
    assert {"sup", "ao", "insp", "ops"} <= {row["actor"] for row in exported}

    # --- the audit chain: intact, then an attacker's edit is found -------------------------
    (rows,) = db.query("SELECT count(*) FROM audit_log")[0]
    verified = _ok(cli("audit", "verify"))
    assert re.search(rf"\b{rows} rows checked", verified.stdout), verified.stdout

    middle = rows // 2
    edit = text("UPDATE audit_log SET justification = :j WHERE id = :id")
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(edit, {"j": "x", "id": middle})
    with db.engine.begin() as conn:  # the attacker owns the database: the guard goes first
        if backend == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_no_update_delete ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(edit, {"j": "nothing to see here", "id": middle})
    tampered = cli("audit", "verify")
    assert tampered.exit_code == 1, tampered.output
    assert re.search(rf"\brow {middle} was altered\b", tampered.stderr), tampered.stderr


def test_cli_return_amend_refuse_withdraw(cli: Cli, login: Login, db: Db) -> None:
    login("sup")
    common = ("--category", "suspect", "--source", "CUST-8", "--age", "30")
    _ok(cli("enrol", "--ref", OTHERS[0], *common, LFW / OTHERS[0] / f"{OTHERS[0]}_0001.jpg"))
    built = _ok(cli("watchlist", "build", "--name", "Op Review")).stdout
    wl_id = int(re.search(r"watchlist (\d+) ", built).group(1))  # type: ignore[union-attr]
    dep_id = _new_deployment(cli, wl_id, "Op Review")
    # An image enrolled before its strength was kept (pre-0018): the brief says how to measure it.
    store = open_store(db.settings)
    try:
        as_before_0018(store)
    finally:
        store.dispose()
    brief = _ok(cli("deployment", "brief", dep_id)).stdout
    assert "not measured" in brief and "1 image not measured" in brief
    assert "openlfr reassess" in brief
    _ok(cli("reassess"))
    assert "not measured" not in _ok(cli("deployment", "brief", dep_id)).stdout

    def row() -> tuple:
        return db.query(
            "SELECT status, purpose, location, review_note, reviewed_by FROM deployments "
            "WHERE id = ?",
            dep_id,
        )[0]

    # A draft's record names a planned operation: not for an operator, nor without a login.
    login("ops")
    hidden = cli("deployment", "record", dep_id, "--json")
    assert hidden.exit_code == 2 and "needs a supervisor, authorising_officer or auditor" in (
        hidden.stderr
    )
    login("aud")
    assert json.loads(_ok(cli("deployment", "record", dep_id, "--json")).stdout)["status"] == (
        "draft"
    )
    login("ao")
    _ok(cli("deployment", "return", dep_id, "--reason", "say why this street"))
    assert row() == ("returned", "locate a wanted suspect", "High Street",
                     "say why this street", "Alex Smith")  # fmt: skip
    login("sup")
    amended = _ok(cli("deployment", "amend", dep_id, "--purpose", "locate a suspect on warrant"))
    assert "a draft again" in amended.stdout
    # Only the option given changed; the rest of the draft is as it was.
    assert row()[:3] == ("draft", "locate a suspect on warrant", "High Street")
    cams = db.query("SELECT name, source FROM cameras WHERE deployment_id = ?", dep_id)
    assert cams == [("cam1", str(CLIP))]
    login("ao")
    _ok(cli("deployment", "refuse", dep_id, "--reason", "not proportionate"))
    assert row()[0] == "refused"
    login("sup")
    again = cli("deployment", "amend", dep_id, "--purpose", "try again")
    assert again.exit_code == 2 and "R5" in again.stderr

    other = _new_deployment(cli, wl_id, "Op Withdrawn")
    _ok(cli("deployment", "withdraw", other, "--reason", "operation cancelled"))
    assert db.query("SELECT status FROM deployments WHERE id = ?", other) == [("withdrawn",)]
    events = db.query(
        "SELECT event, actor FROM audit_log WHERE object_type = 'deployment' AND event IN "
        "('deployment_drafted', 'deployment_returned', 'deployment_amended', "
        "'deployment_refused', 'deployment_withdrawn') ORDER BY id",
    )
    assert events == [
        ("deployment_drafted", "sup"), ("deployment_returned", "ao"),
        ("deployment_amended", "sup"), ("deployment_refused", "ao"),
        ("deployment_drafted", "sup"), ("deployment_withdrawn", "sup"),
    ]  # fmt: skip
