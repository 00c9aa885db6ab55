"""`openlfr enrol`: bad files among good ones, and the domain refusals (R1, R3, R4).

Exit 2 whenever anything was refused; the good files are still enrolled; each refusal is one
line on stderr naming its file; no reference_images row is left for a refused file; each
refusal is in audit_log as 'collection_refused'.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_support import Db
from store_support import as_before_0018
from suite import SHARED_DATA
from typer.testing import Result

from openlfr.store import open_store

LFW = SHARED_DATA / "lfw" / "images"
GOOD = [LFW / "AJ_Cook" / "AJ_Cook_0001.jpg", SHARED_DATA / "deepface" / "images" / "img1.jpg"]
ENROL = ("enrol", "--category", "suspect", "--source", "CUST-42", "--age", "30")

pytestmark = pytest.mark.usefixtures("shared_data")
Cli = Callable[..., Result]
Login = Callable[[str], None]


@pytest.fixture(autouse=True)
def _as_supervisor(login: Login) -> None:
    login("sup")


def _enrolled_ids(result: Result) -> dict[str, int]:
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^enrolled (.+) as image (\d+) of ", result.stdout, re.M)
    }


def test_enrol_bad_files_exit_2_and_good_ones_enrolled(
    cli: Cli, db: Db, bad_files: dict[str, tuple[Path, str]]
) -> None:
    first = cli(*ENROL, "--ref", "PNC-1", GOOD[0])  # an earlier enrolment, to count from
    assert first.exit_code == 0, first.output
    images_before = db.count("reference_images")
    assert images_before == 1

    bad = list(bad_files.values())
    args = [GOOD[0], *[p for p, _ in bad[:4]], GOOD[1], *[p for p, _ in bad[4:]]]
    result = cli(*ENROL, "--ref", "PNC-2", *args)

    assert result.exit_code == 2, result.output
    enrolled = _enrolled_ids(result)
    assert set(enrolled) == {str(p) for p in GOOD}
    lines = result.stderr.splitlines()
    for path, fragment in bad:
        mine = [ln for ln in lines if ln.startswith(f"{path} refused: ")]
        assert len(mine) == 1, (path.name, result.stderr)
        assert fragment in mine[0], mine[0]
    assert not any("Traceback" in ln for ln in lines)

    # Nothing half-written: exactly the good files' rows were added, with the ids printed.
    assert db.count("reference_images") == images_before + len(GOOD)
    rows = db.query(
        "SELECT r.id FROM reference_images r JOIN subjects s ON s.id = r.subject_id "
        "WHERE s.reference = 'PNC-2' ORDER BY r.id",
    )
    assert [r[0] for r in rows] == sorted(enrolled.values())

    refused = db.query(
        "SELECT object_id, action, justification FROM audit_log "
        "WHERE event = 'collection_refused' ORDER BY id",
    )
    assert len(refused) == len(bad)
    # Logged under the custody source given (--source), never the file name.
    assert {r[0] for r in refused} == {"PNC-2:CUST-42"}
    for (_, action, justification), (_path, fragment) in zip(refused, bad, strict=True):
        assert action == "collection" and fragment in justification
    verify = cli("audit", "verify")
    assert verify.exit_code == 0, verify.output


def test_enrol_only_bad_files_stores_no_image(
    cli: Cli, db: Db, bad_files: dict[str, tuple[Path, str]]
) -> None:
    result = cli(*ENROL, "--ref", "PNC-3", *[p for p, _ in bad_files.values()])
    assert result.exit_code == 2
    assert _enrolled_ids(result) == {}
    assert db.count("reference_images") == 0
    assert len(db.query("SELECT id FROM audit_log WHERE event='collection_refused'")) == len(
        bad_files
    )


def test_enrol_catch_all_category_refused_r1(cli: Cli, db: Db) -> None:
    ok = cli(*ENROL, "--ref", "PNC-0", GOOD[1])  # so that the store exists to count in
    assert ok.exit_code == 0
    audit_before = db.count("audit_log")
    result = cli(
        "enrol", "--category", "intelligence interest", "--source", "C", "--age", "30",
        "--ref", "PNC-4", GOOD[0],
    )  # fmt: skip
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert line.startswith("refused (R1):") and "intelligence interest" in line
    assert db.query("SELECT id FROM subjects WHERE reference = 'PNC-4'") == []
    assert db.count("reference_images") == 1
    assert db.count("audit_log") == audit_before


def test_enrol_nfa_image_refused_r3(cli: Cli, db: Db) -> None:
    result = cli(*ENROL, "--ref", "PNC-5", "--outcome", "no_further_action", GOOD[0])
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if "refused" in ln]
    assert line.startswith(f"{GOOD[0]} refused: ") and "R3" in line
    assert db.count("reference_images") == 0


def _nfa_with_reason(cli: Cli, ref: str) -> Result:
    return cli(
        *ENROL, "--ref", ref, "--outcome", "no_further_action",
        "--exceptional-reason", "missing person at risk of serious harm", GOOD[0],
    )  # fmt: skip


def test_enrol_nfa_image_with_exceptional_reason_is_held_for_a_second_supervisor(
    cli: Cli, db: Db, login: Login
) -> None:
    held = _nfa_with_reason(cli, "PNC-6")
    assert held.exit_code == 0, held.stderr
    (request_id,) = [int(x) for x in re.findall(r"as exceptional request (\d+)", held.stdout)]
    assert "a supervisor other than sup must approve" in held.stdout
    assert db.count("reference_images") == 0  # held, not enrolled
    listed = cli("exceptional", "list")
    assert listed.exit_code == 0 and re.search(rf"\b{request_id}\b.*pending", listed.stdout)

    # --approved-by is gone: nobody can name an approver.
    named = cli(*ENROL, "--ref", "PNC-6", "--approved-by", "Sgt Jones", GOOD[0])
    assert named.exit_code == 2 and "No such option" in named.output

    own = cli("exceptional", "approve", request_id)
    assert own.exit_code == 2
    assert "R3" in own.stderr and "other than the requester" in own.stderr
    assert db.count("reference_images") == 0

    login("sup2")
    approved = cli("exceptional", "approve", request_id)
    assert approved.exit_code == 0, approved.output
    assert db.query("SELECT exceptional_approved_by FROM reference_images") == [("sup2",)]
    assert db.query("SELECT status, requested_by, decided_by FROM exceptional_requests") == [
        ("approved", "sup", "sup2")
    ]
    again = cli("exceptional", "approve", request_id)
    assert again.exit_code == 2 and "already approved" in again.stderr


def test_a_rejected_exceptional_reason_enrols_nothing(cli: Cli, db: Db, login: Login) -> None:
    held = _nfa_with_reason(cli, "PNC-10")
    (request_id,) = [int(x) for x in re.findall(r"as exceptional request (\d+)", held.stdout)]
    login("sup2")
    rejected = cli("exceptional", "reject", request_id, "--reason", "not serious enough")
    assert rejected.exit_code == 0, rejected.output
    assert db.count("reference_images") == 0
    assert db.query("SELECT status, decided_by, decision_note, length(image_blob) "
        "FROM exceptional_requests"
    ) == [("rejected", "sup2", "not serious enough", 0)]  # fmt: skip
    assert "no exceptional request is pending" in cli("exceptional", "list").stdout


def test_enrol_under_18_needs_a_reason_r4(cli: Cli, db: Db) -> None:
    base = ("enrol", "--category", "missing_vulnerable", "--source", "C", "--ref", "PNC-7")
    refused = cli(*base, "--age", "16", GOOD[0])
    assert refused.exit_code == 2
    (line,) = [ln for ln in refused.stderr.splitlines() if "refused" in ln]
    assert line.startswith(f"{GOOD[0]} refused: ") and "R4" in line
    assert db.count("reference_images") == 0

    accepted = cli(*base, "--age", "16", "--under18-reason", "missing child at risk", GOOD[0])
    assert accepted.exit_code == 0, accepted.output
    assert db.count("reference_images") == 1


def test_enrol_refusal_names_a_file_with_brackets(cli: Cli, tmp_path: Path) -> None:
    odd = tmp_path / "notes[old].jpg"
    odd.write_text("not an image")
    result = cli(*ENROL, "--ref", "PNC-8", odd)
    assert result.exit_code == 2
    assert f"{odd} refused: not an image" in result.stderr


def test_enrol_category_with_markup_is_refused_cleanly(cli: Cli) -> None:
    result = cli("enrol", "--category", "[/]", "--source", "C", "--ref", "PNC-9", GOOD[0])
    assert result.exit_code == 2
    assert "refused (R1)" in result.stderr


def test_approving_an_exceptional_reason_writes_no_face_to_disk(
    cli: Cli, db: Db, login: Login, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9: the held face goes from its sealed row to enrolment in memory, never as a file
    in the clear (it used to be written to a temporary folder for the enrolment to read)."""
    held = _nfa_with_reason(cli, "PNC-11")
    (request_id,) = [int(x) for x in re.findall(r"as exceptional request (\d+)", held.stdout)]
    written: list[str] = []
    real_write = Path.write_bytes

    def spy(self: Path, data: Any) -> int:
        written.append(str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", spy)
    login("sup2")
    approved = cli("exceptional", "approve", request_id)
    assert approved.exit_code == 0, approved.output
    assert db.count("reference_images") == 1
    assert [w for w in written if not w.endswith((".json", ".key"))] == []


def test_watchlist_build_and_show_name_who_rests_on_weak_images_only(cli: Cli) -> None:
    poor = LFW / "Anna_Kournikova" / "Anna_Kournikova_0001.jpg"  # hand over the forehead
    good = LFW / "Laura_Bush" / "Laura_Bush_0001.jpg"
    enrolled = cli(*ENROL, "--ref", "PNC-W-1", poor)
    assert enrolled.exit_code == 0 and "weak reference" in enrolled.output, enrolled.output
    assert cli(*ENROL, "--ref", "PNC-W-2", good).exit_code == 0
    built = cli("watchlist", "build", "--name", "Op Weak")
    assert built.exit_code == 0, built.output
    (line,) = [ln for ln in built.stdout.splitlines() if "weak reference images only" in ln]
    assert line.startswith("1 subject with") and line.endswith(": PNC-W-1")
    wl_id = re.search(r"watchlist (\d+) ", built.stdout).group(1)  # type: ignore[union-attr]
    shown = cli("watchlist", "show", wl_id)
    assert shown.exit_code == 0 and json.loads(shown.stdout)["weak_only"] == ["PNC-W-1"]


def test_reassess_references_measures_older_images_and_names_the_weak(cli: Cli, db: Db) -> None:
    poor = LFW / "Anna_Kournikova" / "Anna_Kournikova_0001.jpg"
    assert cli(*ENROL, "--ref", "PNC-W-3", poor).exit_code == 0
    store = open_store(db.settings)
    try:
        as_before_0018(store)
    finally:
        store.dispose()
    result = cli("reassess")
    assert result.exit_code == 0, result.output
    assert "1 image measured" in result.stdout
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("weak reference images")]
    assert line.endswith(": PNC-W-3")
    left = db.query("SELECT count(*) FROM reference_images WHERE mirror_agreement IS NULL")
    assert left == [(0,)]
    again = cli("reassess")
    assert again.exit_code == 0 and "0 images measured" in again.stdout
