"""The Ray engine on a real cluster (.ci/run: head + worker on loopback) against PostgreSQL:
four live RTSP cameras, one actor each; a worker node killed mid-run; the cameras it held come
back on the other nodes, every committed alert is kept and stored once, the audit chain holds.
And what it refuses before anything starts: a Ray address that does not answer, SQLite across
several nodes."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ray_scenario import alert_ids, deploy, lose_a_node, rows
from ray_support import Node
from rtsp_support import AUTH, RtspServer
from sqlalchemy import func, select
from suite import SHARED_DATA

from openlfr.config import Settings, StoreSettings, VideoSettings
from openlfr.engines.protocols import CameraReport
from openlfr.engines.ray_engine import RayEngine, RayEngineError, merge_reports, refuse_sqlite
from openlfr.service.camera_attempts import LOST
from openlfr.service.context import AppContext
from openlfr.service.runs import RunSummary
from openlfr.store import models as m
from openlfr.store.audit import verify_audit
from openlfr.store.crypto import generate_key
from openlfr.vision.protocols import Detector, Embedder

PASSWORD = AUTH.split(":", 1)[1]


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
    ctx.use_models(*models)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.mark.slow
def test_four_cameras_carry_on_when_their_worker_node_dies(
    ray_address: str,
    doomed_node: Node,
    cameras: RtspServer,
    pg_ctx: AppContext,
    tmp_path: Path,
) -> None:
    ctx = pg_ctx
    dep_id = deploy(ctx, cameras, SHARED_DATA / "video", tmp_path)
    engine = RayEngine(ray_address)
    loss = lose_a_node(ctx, dep_id, engine, doomed_node)
    assert loss.error is None, loss.error
    summary, names, doomed, committed = loss.summary, loss.names, loss.doomed, loss.committed
    assert isinstance(summary, RunSummary)
    resumed_s = loss.resumed_s
    print(f"cameras of the dead node {doomed} analysing again after {resumed_s:.1f} s")

    # Restarted where they were lost, and only those.
    assert {c for c, n in engine.restarts.items() if n > 0} == set(doomed)
    assert set(engine.moved) == set(doomed)  # rebuilt elsewhere: the dead node is gone
    assert all(doomed_node.node_id not in nodes for nodes in engine.moved.values())
    counters = rows(ctx, dep_id)
    per_camera = Counter(names[r.camera_id] for r in counters)
    assert all(per_camera[c] >= 2 for c in doomed)  # a new attempt, a new counters row
    assert all(per_camera[c] == 1 for c in set(names.values()) - set(doomed))
    assert all(r.ended_at is not None for r in counters)
    lost = [r for r in counters if r.end_reason == LOST]
    assert sorted(names[r.camera_id] for r in lost) == doomed  # each lost attempt ended once

    # No committed alert lost; each stored once, raised once in the audit log.
    stored = alert_ids(ctx, dep_id)
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
