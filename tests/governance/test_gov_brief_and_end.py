"""Issue 8: the authorising officer's brief, camera source verdicts, and why a run ended (a run
whose every camera failed "did not run"; so did a lost run that analysed nothing)."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from gov_support import CLIP, DEAD_URL, LFW, World, audit_rows, authorised, draft
from sqlalchemy import select
from suite import data_path

from openlfr.service.authorisation_brief import authorisation_brief
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import create_deployment, return_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.records import deployment_record
from openlfr.service.recovery import RECOVERY_ACTOR, recover_abandoned_runs
from openlfr.service.run_control import describe_end
from openlfr.service.runs import run_deployment
from openlfr.service.source_probe import probe_source
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m

#: Stands for the clip in the table below: resolved in the test (a skip when the data is missing).
THE_CLIP = "<the clip>"


@pytest.mark.parametrize(
    ("source", "open_urls", "ok", "fragment"),
    [
        (THE_CLIP, False, True, "first frame decoded (512x512)"),
        ("just-a-name", False, False, "just-a-name: no such video file: a source is"),
        ("/nonexistent/file.mp4", False, False, "no such video file"),
        ("  ", False, False, "no source is given"),
        (__file__, False, False, "cannot open as video"),
        ("/dev/video97", False, False, "/dev/video97 does not exist"),
        ("device:97", False, False, "/dev/video97 does not exist"),
        ("ftp://host/x", False, False, "unsupported source scheme"),
        ("rtsp:///x", False, False, "names no host"),
        ("rtsp://host:99999/x", False, False, "not a valid URL"),
        ("http://cam era/x", False, False, "cannot contain spaces"),
        (DEAD_URL, False, True, "opened at authorisation"),
        (DEAD_URL, True, False, "cannot be opened within"),
    ],
)
def test_probe_source(source: str, open_urls: bool, ok: bool, fragment: str) -> None:
    if source == THE_CLIP:
        source = str(data_path("video", CLIP.name))
    verdict = probe_source("cam1", source, open_urls=open_urls)
    assert (verdict.ok, verdict.camera) == (ok, "cam1"), verdict
    assert fragment in verdict.detail
    assert "secret" not in verdict.detail + verdict.source


def test_brief_lists_members_floor_evidence_and_source_verdicts(
    ctx: AppContext, world: World
) -> None:
    spec = ImageSpec(
        LFW / "Aaron_Patterson" / "Aaron_Patterson_0001.jpg",
        "CUST-P1",
        "PACE s64A",
        "charged",
        date(2025, 5, 4),
        30,
    )
    assert enrol_subject(
        ctx, reference="PNC-PEIRSOL", display_name="P", category="mappa", images=[spec]
    ).enrolled
    wl = compile_watchlist(ctx, "Operation Brief")
    dep_id = create_deployment(
        ctx, draft(wl.id, cameras=[("north", str(CLIP)), ("south", DEAD_URL)])
    )
    return_deployment(ctx, dep_id, officer="A Smith", reason="say why the south camera")

    brief = authorisation_brief(ctx, dep_id)

    assert (brief.deployment_id, brief.status, brief.created_by) == (
        dep_id,
        "returned",
        "pc.tester",
    )
    assert (brief.review_note, brief.reviewed_by) == ("say why the south camera", "A Smith")
    assert brief.equality_note.startswith("threshold at the calibrated floor")
    refs = {(x.reference, x.category, x.image_captured) for x in brief.members}
    assert ("PNC-PEIRSOL", "mappa", date(2025, 5, 4)) in refs
    assert {x.reference for x in brief.members} == {
        "PNC-GUL",
        "PNC-BRODY",
        "PNC-COOK",
        "PNC-PEIRSOL",
    }
    assert len(brief.members) == 5  # Gul has two images; the sizes count people
    assert brief.size_by_category == {"suspect": 2, "wanted_by_courts": 1, "mappa": 1}
    assert brief.threshold_floor == ctx.settings.governance.threshold_floors["sface"]
    assert brief.floor_evidence.startswith("No calibration of sface is recorded")
    north, south = brief.cameras
    assert north.ok and "first frame decoded" in north.detail
    assert not south.ok and "cannot be opened" in south.detail and "secret" not in south.source
    assert (
        not authorisation_brief(ctx, dep_id, probe_urls=False).cameras[1].detail.startswith("rtsp")
    )
    [first, _] = audit_rows(ctx, event="authorisation_brief")
    assert first.action == "consultation" and first.object_id == str(dep_id)

    folder = ctx.settings.store.data_dir / "calibrations"
    folder.mkdir(parents=True, exist_ok=True)
    evidence = {
        "threshold": 0.47,
        "expected_false_alerts_per_hour": 0.9,
        "false_alerts_per_hour_ci95": [0.5, 1.4],
        "expected_tpir": 0.93,
        "target": {"false_alerts_per_hour": 1.0, "watchlist_size": 500, "faces_per_hour": 2000},
        "data": {"identities": 5749, "images": 13233},
        "model": "sface+flip",
        "date": "2026-11-30T10:00:00+00:00",
        "caveats": [],
        "authorisation_floor": {"model": "sface", "current_floor": 0.42, "calibrated_floor": 0.47},
    }
    (folder / "sface+flip-2026-11-30T100000Z.json").write_text(json.dumps(evidence))
    (folder / "broken.json").write_text("{not json")
    text = authorisation_brief(ctx, dep_id, probe_urls=False).floor_evidence
    assert (
        "Calibrated 2026-11-30" in text and "threshold 0.47" in text and "5749 identities" in text
    )
    assert "differs from this calibrated value (0.47)" in text


@pytest.mark.parametrize(
    ("cameras", "stop", "reason", "failed"),
    [
        ([("c1", 200, "source ended")], None, "source ended", False),
        ([("c1", 9, "source ended"), ("c2", 5, "source ended")], None, "sources ended", False),
        ([("c1", 50, "authorised window ended")], None, "authorised window ended", False),
        ([("c1", 50, "stopped by sup")], "stopped by sup", "stopped by sup", False),
        ([("c1", 0, "stopped by sup")], "stopped by sup", "stopped by sup", False),
        ([("c1", 0, "authorised window ended")], None, "authorised window ended", False),
        (
            [("c1", 0, "cannot open source: x: no such video file")],
            None,
            "did not run: camera failed: cannot open source: x: no such video file",
            True,
        ),
        (
            [("c1", 0, "source failed: gone"), ("c2", 0, "error: boom")],
            None,
            "did not run: camera failed: c1: source failed: gone; c2: error: boom",
            True,
        ),
        ([("c1", 0, "source ended")], None, "did not run: camera failed: source ended", True),
        (
            [("c1", 0, "source failed: gone"), ("c2", 80, "source ended")],
            None,
            "c1: source failed: gone; c2: source ended",
            False,
        ),
        ([], None, "did not run: camera failed: no camera", True),
    ],
)
def test_describe_end(
    cameras: list[tuple[str, int, str]], stop: str | None, reason: str, failed: bool
) -> None:
    assert describe_end(cameras, stop) == (reason, failed)


def test_a_run_whose_every_camera_failed_did_not_run(
    ctx: AppContext, world: World, tmp_path: Path
) -> None:
    clip = tmp_path / "feed.mp4"
    shutil.copy(CLIP, clip)
    dep_id = authorised(ctx, world.watchlist_id, cameras=[("cam1", str(clip))])
    clip.unlink()  # the file goes missing between authorisation and the run

    summary = run_deployment(ctx, dep_id)

    assert summary.run_failed
    assert summary.end_reason.startswith("did not run: camera failed: cannot open source: ")
    assert "no such video file" in summary.end_reason
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None and dep.status == "ended"
        assert dep.run_failed and dep.end_reason == summary.end_reason


def test_a_run_that_played_its_source_records_why_it_ended(ctx: AppContext, world: World) -> None:
    summary = run_deployment(ctx, authorised(ctx, world.watchlist_id))
    assert summary.cameras[0].frames > 100
    with ctx.store.session() as s:
        row = s.execute(
            select(m.Deployment.end_reason, m.Deployment.run_failed).where(
                m.Deployment.id == summary.deployment_id
            )
        ).one()
    assert tuple(row) == ("source ended", False)


@pytest.mark.parametrize(
    ("frames", "alert", "failed"),
    [
        (1234, False, False),  # it searched faces before it was lost: it ran
        (0, True, False),  # killed before its first save, but an alert shows it searched
        (0, False, True),  # killed before its first frame: it did not run
        (None, False, True),  # killed before any camera opened (no counter row at all)
    ],
    ids=["frames saved", "alert only", "nothing analysed", "no camera started"],
)
def test_a_lost_run_records_why_it_ended_and_whether_it_ran(
    ctx: AppContext, world: World, frames: int | None, alert: bool, failed: bool
) -> None:
    dep_id = authorised(ctx, world.watchlist_id)
    silent = timedelta(seconds=ctx.settings.video.runner_lost_after_s + 5)
    beat = utcnow() - silent
    with ctx.store.session() as s:  # what a runner killed `silent` ago leaves behind
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        dep.status, dep.started_at = "live", beat
        (cam,) = s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep_id))
        if frames is not None:
            s.add(m.DeploymentCounter(deployment_id=dep_id, camera_id=cam.id, frames=frames,
                                      started_at=beat, updated_at=beat))  # fmt: skip
        if alert:
            image = s.get(m.ReferenceImage, world.images["PNC-COOK"][0])
            assert image is not None
            row = m.Alert(deployment_id=dep_id, camera_id=cam.id, track_id=0,
                          subject_id=image.subject_id, reference_image_id=image.id,
                          score=0.6, margin=0.2, first_frame=1, last_frame=9, raised_at=beat,
                          status="pending")  # fmt: skip
            ctx.store.seal(s, row, probe_crop_blob=b"crop")

    (run,) = recover_abandoned_runs(ctx, utcnow())

    assert run.deployment_id == dep_id and run.reason.startswith("runner lost (no heartbeat")
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None and dep.status == "ended"
        expected = f"did not run: {run.reason}" if failed else run.reason
        assert (dep.end_reason, dep.run_failed) == (expected, failed)
    record = deployment_record(ctx, dep_id)
    assert (record["end_reason"], record["did_not_run"]) == (expected, failed)
    [entry] = audit_rows(ctx, event="deployment_runner_lost")
    assert entry.actor == RECOVERY_ACTOR and entry.object_id == str(dep_id)
