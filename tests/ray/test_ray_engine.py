"""The Ray engine on a real cluster (.ci/run: head + worker on loopback) against PostgreSQL:
four live RTSP cameras, one actor each; a worker node killed mid-run; the cameras it held come
back on the other nodes, every committed alert is kept and stored once, the audit chain holds.
And what it refuses before anything starts: a Ray address that does not answer, SQLite across
several nodes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from ray_support import CLIPS, Node
from rtsp_support import AUTH, RtspServer
from sqlalchemy import func, select
from suite import SHARED_DATA

from openlfr.config import Settings, StoreSettings, VideoSettings
from openlfr.engines.protocols import CameraReport
from openlfr.engines.ray_engine import RayEngine, RayEngineError, merge_reports, refuse_sqlite
from openlfr.service.camera_attempts import LOST
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.runs import RunSummary, run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.audit import verify_audit
from openlfr.store.crypto import generate_key
from openlfr.vision.protocols import Detector, Embedder

PASSWORD = AUTH.split(":", 1)[1]
ENROLLED = CLIPS[:2]  # two of the four people are on the watchlist: alerts on two cameras
# Generous: four actors load their models on a shared 2-core machine; a dead node's cameras
# must be back well within it (the 30 s target is the benchmark's, not this test's).
START_S = 240.0
RESUME_S = 120.0


def _frame_at(clip: Path, seconds: float, out: Path) -> Path:
    with av.open(str(clip)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                frame.to_image().save(out, quality=95)
                return out
    raise AssertionError(f"{clip.name} has no frame at {seconds} s")


def _wait(cond: Any, timeout: float, what: str, detail: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s; " + (
            str(detail()) if detail else ""
        )
        time.sleep(0.5)


@pytest.fixture
def pg_ctx(pg_schema_url: str, tmp_path: Path, models: tuple[Detector, Embedder]) -> Any:
    store = StoreSettings(
        data_dir=tmp_path / "data", database_url=pg_schema_url, key=generate_key()
    )
    # A few analysed frames a second per camera: enough to raise alerts, light on shared CPUs.
    video = VideoSettings(
        analysis_fps=3.0,
        open_timeout_s=10.0,
        read_timeout_s=5.0,
        reconnect_initial_s=0.2,
        reconnect_max_s=2.0,
    )
    ctx = AppContext.open(
        Settings().model_copy(update={"store": store, "video": video}), actor="sgt.ray"
    )
    ctx._detector, ctx._embedder = models
    try:
        yield ctx
    finally:
        ctx.close()


def _deployment(ctx: AppContext, cameras: RtspServer, tmp_path: Path) -> int:
    for i, name in enumerate(ENROLLED):
        ref = _frame_at(SHARED_DATA / "video" / name, 7.5, tmp_path / f"ref{i}.jpg")
        spec = ImageSpec(ref, f"CUST-R{i}", "PACE s64A", "charged", date.today(), 30)
        done = enrol_subject(
            ctx, reference=f"SUBJ-R{i}", display_name=f"R {i}", category="suspect", images=[spec]
        )
        assert done.enrolled
    wl = compile_watchlist(ctx, "Op Ray")
    now = utcnow()
    draft = DeploymentDraft(
        "Op Ray", "locate suspects", "Station concourse", "sightings reported",
        now - timedelta(minutes=1), now + timedelta(hours=2), wl.id,
        [(f"cam{i}", cameras.url(clip)) for i, clip in enumerate(cameras.clips)],
        None, "threshold at the floor; reviewed",
    )  # fmt: skip
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(ctx, dep_id, officer="A Smith", rank="superintendent", reasons="ray test")
    return dep_id


def _rows(ctx: AppContext, dep_id: int) -> list[m.DeploymentCounter]:
    with ctx.store.session() as s:
        q = select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
        return list(s.scalars(q.order_by(m.DeploymentCounter.id)))


def _camera_names(ctx: AppContext, dep_id: int) -> dict[int, str]:
    with ctx.store.session() as s:
        q = select(m.Camera.id, m.Camera.name).where(m.Camera.deployment_id == dep_id)
        return {cid: name for cid, name in s.execute(q)}


def _alert_ids(ctx: AppContext, dep_id: int) -> list[int]:
    with ctx.store.session() as s:
        return list(s.scalars(select(m.Alert.id).where(m.Alert.deployment_id == dep_id)))


@pytest.mark.slow
def test_four_cameras_carry_on_when_their_worker_node_dies(
    ray_address: str,
    doomed_node: Node,
    cameras: RtspServer,
    pg_ctx: AppContext,
    tmp_path: Path,
) -> None:
    ctx = pg_ctx
    dep_id = _deployment(ctx, cameras, tmp_path)
    names = _camera_names(ctx, dep_id)
    engine = RayEngine(ray_address)
    stop = threading.Event()
    box: dict[str, RunSummary | BaseException] = {}

    def run() -> None:
        try:
            box["summary"] = run_deployment(ctx, dep_id, stop=stop, engine=engine)
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    try:

        def every_camera_analysing() -> bool:
            working = {names[r.camera_id] for r in _rows(ctx, dep_id) if r.frames > 0}
            return len(working) == 4

        _wait(every_camera_analysing, START_S, "all four cameras analysing frames")
        # Round-robin over the live nodes: the node about to die holds at least one camera.
        doomed = sorted(c for c, node in engine.placement.items() if node == doomed_node.node_id)
        print(f"placement: {engine.placement}; doomed node {doomed_node.node_id}")
        assert doomed and len(doomed) < 4
        _wait(lambda: len(_alert_ids(ctx, dep_id)) > 0, START_S, "a first alert")
        before = {r.id for r in _rows(ctx, dep_id)}
        committed = set(_alert_ids(ctx, dep_id))

        doomed_node.kill()
        killed = time.monotonic()

        def doomed_cameras_back() -> bool:
            fresh = [r for r in _rows(ctx, dep_id) if r.id not in before and r.frames > 0]
            return set(doomed) <= {names[r.camera_id] for r in fresh}

        _wait(
            doomed_cameras_back,
            RESUME_S,
            "the dead node's cameras analysing again",
            lambda: (
                [
                    (names[r.camera_id], r.frames, f"{r.started_at:%H:%M:%S}", r.end_reason)
                    for r in _rows(ctx, dep_id)
                ]
                + [engine.restarts, engine.moved]
            ),
        )
        resumed_s = time.monotonic() - killed
        time.sleep(3)  # the survivors and the restarted keep going a moment
    finally:
        stop.set()
        runner.join(120)
    assert not runner.is_alive()
    assert "error" not in box, box.get("error")
    summary = box["summary"]
    assert isinstance(summary, RunSummary)
    print(f"cameras of the dead node {doomed} analysing again after {resumed_s:.1f} s")

    # Restarted where they were lost, and only those.
    assert {c for c, n in engine.restarts.items() if n > 0} == set(doomed)
    assert set(engine.moved) == set(doomed)  # rebuilt elsewhere: the dead node is gone
    assert all(doomed_node.node_id not in nodes for nodes in engine.moved.values())
    rows = _rows(ctx, dep_id)
    per_camera = Counter(names[r.camera_id] for r in rows)
    assert all(per_camera[c] >= 2 for c in doomed)  # a new attempt, a new counters row
    assert all(per_camera[c] == 1 for c in set(names.values()) - set(doomed))
    assert all(r.ended_at is not None for r in rows)
    lost = [r for r in rows if r.end_reason == LOST]
    assert sorted(names[r.camera_id] for r in lost) == doomed  # each lost attempt ended once

    # No committed alert lost; each stored once, raised once in the audit log.
    stored = _alert_ids(ctx, dep_id)
    assert committed <= set(stored)
    assert len(stored) == len(set(stored))
    assert Counter(summary.alert_ids) == Counter(set(summary.alert_ids))
    assert set(summary.alert_ids) <= set(stored)
    with ctx.store.session() as s:
        raised = Counter(
            s.scalars(
                select(m.AuditEntry.object_id).where(
                    m.AuditEntry.event == "alert_raised",
                    m.AuditEntry.object_id.in_([str(a) for a in stored]),
                )
            )
        )
        assert raised == Counter({str(a): 1 for a in stored})
        assert verify_audit(s).ok
        # The cameras' credentials went to the actors, never into the store's text.
        sources = s.scalar(select(func.count()).select_from(m.AuditEntry).where(
            m.AuditEntry.justification.contains(PASSWORD)))  # fmt: skip
        assert sources == 0
    assert {c.camera for c in summary.cameras} == set(names.values())


def test_a_ray_address_that_does_not_answer_is_refused_at_once(pg_schema_url: str) -> None:
    start = time.monotonic()
    with pytest.raises(RayEngineError, match=r"does not answer.*Nothing was started"):
        RayEngine("127.0.0.1:1").prepare(pg_schema_url)
    assert time.monotonic() - start < 10
    with pytest.raises(RayEngineError, match="HOST:PORT"):
        RayEngine("no-port-here").prepare(pg_schema_url)


@pytest.mark.parametrize(
    ("url", "nodes", "refused"),
    [
        ("sqlite:////tmp/x/openlfr.db", 2, True),
        ("SQLite:///openlfr.db", 3, True),
        ("sqlite:////tmp/x/openlfr.db", 1, False),
        ("postgresql+psycopg://u@h/db", 2, False),
        ("postgresql+psycopg://u@h/db", 1, False),
    ],
)
def test_sqlite_is_refused_across_nodes(url: str, nodes: int, refused: bool) -> None:
    if refused:
        with pytest.raises(RayEngineError, match=r"SQLite.*PostgreSQL"):
            refuse_sqlite(url, nodes, "127.0.0.1:6379")
    else:
        refuse_sqlite(url, nodes, "127.0.0.1:6379")


def test_sqlite_store_is_refused_by_the_two_node_test_cluster(ray_address: str) -> None:
    engine = RayEngine(ray_address)
    assert len(engine.connect()) >= 2
    with pytest.raises(RayEngineError, match="nodes, but the store is SQLite"):
        engine.prepare("sqlite:////tmp/openlfr-test/openlfr.db")


def test_reports_of_restarted_attempts_add_up() -> None:
    first = CameraReport("cam1", frames=10, faces=4, alerts=1, alert_ids=[7], reconnects=1)
    lost = CameraReport("cam1")  # the attempt whose node died reports nothing
    last = CameraReport("cam1", frames=5, faces=2, alerts=1, alert_ids=[9], end_reason="stopped")
    merged = merge_reports([first, lost, last])
    assert (merged.frames, merged.faces, merged.alerts) == (15, 6, 2)
    assert merged.alert_ids == [7, 9] and merged.reconnects == 1
    assert merged.end_reason == "stopped"
