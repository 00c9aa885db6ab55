"""`openlfr custody import` and `openlfr search` from the command line, on real LFW faces and
a real store: the JSON shapes of issue 11, per-row rejects with their reasons, idempotent
re-runs, a malformed CSV refused whole (exit 2), R17 (an NFA image is never returned) and the
audited consultation naming case, reason and actor."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from store_support import store_env
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext
from openlfr.service.sessions import issue_session
from openlfr.store.models import AuditEntry
from openlfr.store.models_accounts import SessionKind
from openlfr.store.models_custody import CustodyImage

HEADER = "custody_id,person_ref,image,captured,age_at_capture,case_outcome"
IMPORT_KEYS = {"rows", "imported", "skipped_existing", "rejected", "eligible", "ineligible",
               "seconds", "images_per_s"}  # fmt: skip


def _people(images: Path, n: int) -> list[tuple[str, list[str]]]:
    out = []
    for d in sorted(images.iterdir()):
        files = sorted(f.name for f in d.iterdir())
        if len(files) >= 2:
            out.append((d.name, files))
        if len(out) == n:
            break
    return out


def _token(ctx: AppContext, username: str, role: str) -> str:
    acct = create_account(ctx.store, username=username, password="correct horse battery",
                          role=role, rank=None, display_name=username.title(),
                          created_by="test")  # fmt: skip
    return issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "test")[0]


@pytest.fixture
def estate(tmp_path: Path, shared_data: Path) -> Path:
    """An images folder holding LFW identities plus the bad files the rejects must name."""
    root = tmp_path / "img"
    root.mkdir()
    # Copies, not links: the import refuses a path that resolves outside the images folder.
    for name, files in _people(shared_data / "lfw" / "images", 10):
        (root / "lfw" / name).mkdir(parents=True)
        for f in files[:1]:
            shutil.copy(shared_data / "lfw" / "images" / name / f, root / "lfw" / name / f)
    shutil.copy(shared_data / "deepface" / "images" / "couple.jpg", root / "couple.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "blank.png").write_bytes(_blank_png())
    return root


def _blank_png() -> bytes:
    import cv2
    import numpy as np

    ok, buf = cv2.imencode(".png", np.full((200, 200, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def test_import_and_search_from_the_command_line(
    store_settings: StoreSettings, tmp_path: Path, shared_data: Path, estate: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    people = _people(shared_data / "lfw" / "images", 10)
    lines = [HEADER]
    for i, (name, files) in enumerate(people):
        outcome = "no_further_action" if i == 0 else "convicted"
        lines.append(f"C{i},P{i},lfw/{name}/{files[0]},2020-01-02,30,{outcome}")
    first = people[1][1][0]
    lines += ["RB,PB,broken.jpg,2020-01-02,30,convicted",
              "RN,PN,blank.png,2020-01-02,30,convicted",
              "RT,PT,couple.jpg,2020-01-02,30,convicted",
              f"RD,PD,lfw/{people[1][0]}/{first},2020-13-45,30,convicted",
              f"RO,PO,lfw/{people[1][0]}/{first},2020-01-02,30,maybe_guilty"]  # fmt: skip
    (tmp_path / "c.csv").write_text("\n".join(lines) + "\n")
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        sup, inv = _token(ctx, "sup", "supervisor"), _token(ctx, "inv", "investigator")
    finally:
        ctx.close()
    for k, v in {**store_env(store_settings), "OPENLFR_CONFIG_DIR": str(tmp_path / "cfg")}.items():
        monkeypatch.setenv(k, v)
    run = CliRunner().invoke
    monkeypatch.setenv("OPENLFR_TOKEN", sup)
    args = ["custody", "import", "--csv", str(tmp_path / "c.csv"), "--images", str(estate),
            "--rejects", str(tmp_path / "rej.csv"), "--json"]  # fmt: skip
    res = run(app, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert set(summary) == IMPORT_KEYS
    assert (summary["rows"], summary["imported"], summary["rejected"]) == (15, 10, 5), (
        tmp_path / "rej.csv"
    ).read_text()
    assert (summary["eligible"], summary["ineligible"]) == (9, 1)
    with (tmp_path / "rej.csv").open() as fh:
        reasons = {r["custody_id"]: r["reason"].lower() for r in csv.DictReader(fh)}
    assert set(reasons) == {"RB", "RN", "RT", "RD", "RO"}
    assert "date" in reasons["RD"] and "maybe_guilty" in reasons["RO"]
    assert "face" in reasons["RN"] and "face" in reasons["RT"]
    again = json.loads(run(app, args).stdout.strip().splitlines()[-1])
    assert (again["imported"], again["skipped_existing"]) == (0, 10)
    # A malformed file: exit 2 naming the line, nothing applied.
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"\nZ1,PZ,lfw/{people[2][0]}/{people[2][1][0]},2020-01-02,30,convicted"
                   "\nZ2,short\n")  # fmt: skip
    broken = run(app, ["custody", "import", "--csv", str(bad), "--images", str(estate)])
    assert broken.exit_code == 2 and "line 3" in broken.output
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("custody_id,person_ref,image\nA,B,c.jpg\n")
    missing = run(app, ["custody", "import", "--csv", str(nocol), "--images", str(estate)])
    assert missing.exit_code == 2 and "captured" in missing.output
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        with ctx.store.session() as s:
            held = set(s.scalars(select(CustodyImage.custody_id)))
        assert held == {f"C{i}" for i in range(10)}
    finally:
        ctx.close()

    # Retrospective search: the investigator, real probes, R17 inside the search.
    monkeypatch.setenv("OPENLFR_TOKEN", inv)
    probe = ["search", "--case", "OP-42/2026", "--reason", "robbery suspect", "--json"]
    lfw = shared_data / "lfw" / "images"
    hit = run(app, [*probe, "--image", str(lfw / people[1][0] / people[1][1][1])])
    assert hit.exit_code == 0, hit.output
    body = json.loads(hit.stdout)
    assert set(body) >= {"candidates", "searched", "excluded_ineligible", "seconds"}
    assert set(body["candidates"][0]) == {"rank", "person_ref", "custody_id", "score"}
    assert body["candidates"][0]["person_ref"] == "P1"
    assert (body["searched"], body["excluded_ineligible"]) == (9, 1)
    assert "never an identification" in hit.output
    nfa = run(app, [*probe, "--image", str(lfw / people[0][0] / people[0][1][1])])
    assert nfa.exit_code == 0, nfa.output
    assert "P0" not in {c["person_ref"] for c in json.loads(nfa.stdout)["candidates"]}
    several = run(app, [*probe, "--image", str(estate / "couple.jpg")])
    assert several.exit_code != 0 and "--face" in several.output
    not_image = run(app, [*probe, "--image", str(tmp_path / "c.csv")])
    assert not_image.exit_code != 0 and "image" in not_image.output.lower()
    monkeypatch.setenv("OPENLFR_TOKEN", sup)  # R17: the investigator's work only
    assert run(app, [*probe, "--image", str(estate / "couple.jpg")]).exit_code != 0
    ctx = AppContext.open(Settings(store=store_settings), "test")
    try:
        with ctx.store.session() as s:
            audits = list(s.scalars(select(AuditEntry).where(AuditEntry.event == "retro_search")))
        assert len(audits) == 2
        assert all(a.actor == "inv" and "OP-42/2026" in a.justification for a in audits)
        assert all("robbery suspect" in a.justification for a in audits)
    finally:
        ctx.close()
