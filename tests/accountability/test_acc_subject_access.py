"""R20 subject access from the records: everything held about one person (purged watchlists
from the R16 manifest included), an audited disclosure with its recipient; a person not held
gets a "nothing held" disclosure, audited too. Through the service and the CLI."""

from __future__ import annotations

import json
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
from acc_support import LFW, SUPT, OpenCtx, draft, enrol
from sqlalchemy import select
from store_support import store_env
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import StoreSettings
from openlfr.reports.subject_access import disclosure_html
from openlfr.service.accounts import create_account
from openlfr.service.context import utcnow
from openlfr.service.custody_import import import_custody
from openlfr.service.deployments import authorise_deployment
from openlfr.service.retention import purge
from openlfr.service.sessions import issue_session
from openlfr.service.subject_access import NEVER_STORED, subject_access
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.models_accountability import SubjectAccessRequest
from openlfr.store.models_accounts import SessionKind
from openlfr.store.models_sightings import AlertSighting


def _disclosures(ctx, person_ref: str) -> list[m.AuditEntry]:  # type: ignore[no-untyped-def]
    with ctx.store.session() as s:
        e = m.AuditEntry
        rows = list(s.scalars(select(e).where(e.action == "disclosure", e.object_id == person_ref)))
        s.expunge_all()
        return rows


def test_disclosure_holds_everything_and_is_audited(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(0)
    images = enrol(ctx, "PNC-S1", "AJ_Cook")
    enrol(ctx, "PNC-OTHER", "Abdullah_Gul")
    wl = compile_watchlist(ctx, "Op SAR")
    dep = draft(ctx, wl.id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    with ctx.store.session() as s:
        sid = s.scalar(select(m.Subject.id).where(m.Subject.reference == "PNC-S1"))
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep))
        alert = m.Alert(deployment_id=dep, camera_id=cam, track_id=1, subject_id=sid,
                        reference_image_id=images[0], score=0.61, margin=0.2, first_frame=1,
                        last_frame=3, status="confirmed", adjudicated_by="pc.op",
                        adjudication_reason="same person", outcome="arrested")  # fmt: skip
        ctx.store.seal(s, alert, probe_crop_blob=b"crop")
        d = s.get(m.Deployment, dep)
        d.status, d.started_at, d.ended_at = "ended", d.start_at, d.end_at
        ended = d.end_at
    purge(ctx, now=ended + timedelta(days=2))  # the watchlist is purged (R9)
    out = subject_access(ctx, person_ref="PNC-S1", request_ref="SAR-2026-1", recipient="J Doe")
    body = out.as_dict()
    assert body["held"] and body["statement"] == NEVER_STORED
    assert body["subject"]["reason_wanted"] == "failing to appear at court"
    assert [i["image_id"] for i in body["reference_images"]] == images
    (wl_row,) = body["watchlists"]
    assert wl_row["watchlist_id"] == wl.id and wl_row["from_purge_manifest"]
    assert wl_row["deployments"][0]["deployment_id"] == dep
    (a,) = body["alerts"]
    assert a["decision"] == "confirmed" and a["outcome"] == "arrested"
    assert any(x["object"] == f"subject {sid}" for x in body["consultations"])
    assert body["deletions"], "the purge's deletions are listed"
    assert "PNC-OTHER" not in json.dumps(body)  # nobody else's data
    (audit,) = _disclosures(ctx, "PNC-S1")
    assert audit.recipient == "J Doe" and "SAR-2026-1" in audit.justification
    with ctx.store.session() as s:
        row = s.scalar(select(SubjectAccessRequest))
        assert row is not None and row.held and row.disclosure_sha256 == out.sha256


def test_unknown_person_gets_nothing_held_and_it_is_audited(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(0)
    out = subject_access(ctx, person_ref="PNC-NOBODY", request_ref="SAR-9")
    body = out.as_dict()
    assert not body["held"] and "holds no record" in body["nothing_held"]
    assert body["statement"] == NEVER_STORED
    (audit,) = _disclosures(ctx, "PNC-NOBODY")
    assert "nothing held" in audit.justification and "data subject" in (audit.recipient or "")


def test_cli_writes_html_json_and_images(
    open_ctx: OpenCtx, store_settings: StoreSettings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    ctx = open_ctx(0)
    enrol(ctx, "PNC-CLI", "AJ_Cook")
    acct = create_account(ctx.store, username="sgt", password="correct horse battery",
                          role="supervisor", display_name="Sgt S", created_by="test")  # fmt: skip
    token = issue_session(ctx.store, int(acct), SessionKind.BEARER, 1.0, "test")[0]
    env = {**store_env(store_settings), "OPENLFR_TOKEN": token,
           "OPENLFR_CONFIG_DIR": str(tmp_path / "cfg")}  # fmt: skip
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    out = tmp_path / "sar"
    res = CliRunner().invoke(app, ["subject-access", "--ref", "PNC-CLI", "--request", "SAR-C",
                                   "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    data = json.loads((out / "disclosure.json").read_text())
    assert data["person_ref"] == "PNC-CLI" and data["produced_by"] == "sgt"
    html = (out / "disclosure.html").read_text()
    assert "Subject access disclosure" in html and "never stored" in html
    (image,) = [p for p in out.iterdir() if p.suffix == ".jpg"]
    assert image.read_bytes()[:2] == b"\xff\xd8"  # a JPEG copy of the reference image
    nobody = CliRunner().invoke(app, ["subject-access", "--ref", "X", "--request", "SAR-D"])
    assert nobody.exit_code == 0 and json.loads(nobody.stdout)["held"] is False


def test_disclosure_lists_custody_images_sightings_and_the_entry_reason(
    open_ctx: OpenCtx, tmp_path: Path
) -> None:
    ctx = open_ctx(0)
    (image,) = enrol(ctx, "PNC-S5", "Abdullah_Gul", "suspect", "vawg_offence")
    faces = LFW / "Abdullah_Gul"
    rows = ["custody_id,person_ref,image,captured,age_at_capture,case_outcome",
            "CU-1,PNC-S5,Abdullah_Gul_0002.jpg,2020-01-02,40,convicted",
            "CU-2,PNC-S5,Abdullah_Gul_0003.jpg,2021-03-04,41,no_further_action",
            "CU-3,PNC-ELSE,Abdullah_Gul_0004.jpg,2021-03-04,41,convicted"]  # fmt: skip
    (tmp_path / "c.csv").write_text("\n".join(rows) + "\n")
    assert import_custody(ctx, tmp_path / "c.csv", faces, workers=1).imported == 3
    wl = compile_watchlist(ctx, "Op Sightings")
    dep = draft(ctx, wl.id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    crop = (faces / "Abdullah_Gul_0005.jpg").read_bytes()
    with ctx.store.session() as s:
        sid = s.scalar(select(m.Subject.id).where(m.Subject.reference == "PNC-S5"))
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep))
        alert = m.Alert(deployment_id=dep, camera_id=cam, track_id=1, subject_id=sid,
                        reference_image_id=image, score=0.7, margin=0.3, first_frame=1,
                        last_frame=3, status="pending")  # fmt: skip
        ctx.store.seal(s, alert, probe_crop_blob=crop)
        first = AlertSighting(alert_id=alert.id, camera_id=cam, track_id=1, frame_index=1,
                              seen_at=utcnow(), score=0.7)  # fmt: skip
        s.add(first)
        again = AlertSighting(alert_id=alert.id, camera_id=cam, track_id=4, frame_index=90,
                              seen_at=utcnow(), score=0.66, crop_blob=b"")  # fmt: skip
        s.add(again)
        s.flush()
        ctx.store.seal(s, again, crop_blob=crop)
        alert_id, sighting_id = alert.id, again.id
    out = subject_access(ctx, person_ref="PNC-S5", request_ref="SAR-S5")
    body = out.as_dict()
    custody = {c["custody_id"]: c for c in body["custody_images"]}
    assert set(custody) == {"CU-1", "CU-2"}  # not the other person's
    assert custody["CU-1"]["eligible"] and not custody["CU-2"]["eligible"]
    assert custody["CU-2"]["eligibility"] and custody["CU-2"]["eligibility_rule"]
    assert out.images[custody["CU-1"]["file"]][:2] == b"\xff\xd8"  # a copy of the image held
    (wl_row,) = body["watchlists"]
    assert wl_row["reason_wanted"] == "violence against women and girls offence"
    (a,) = body["alerts"]
    assert out.images[a["camera_image_file"]] == crop
    seen = {x["sighting_id"]: x for x in a["sightings"]}
    assert len(seen) == 2 and seen[sighting_id]["camera"] == "cam1"
    assert out.images[seen[sighting_id]["file"]] == crop
    assert any(x["object"] == f"custody_image {custody['CU-1']['id']}"
               for x in body["consultations"])  # fmt: skip
    html = unescape(disclosure_html(out))
    assert html.count(f"<tr><td>{alert_id}</td>") >= 3  # the alert row and both sightings
    assert "no further action" in html and custody["CU-2"]["eligibility"] in html
