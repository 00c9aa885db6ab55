"""Non-negotiable 1 (R8): a face that does not match leaves nothing behind, ever.

crowd_1080p.mp4 (pedestrians, none enrolled) runs through a real deployment against a watchlist
of 500 LFW identities; afterwards every table and every file under the data directory is
inspected: only counts and the audit of what was done may have been added.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from store_support import dump_tables

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store import verify_audit
from openlfr.vision.protocols import Detector, Embedder

WATCHLIST = 500
# What running a deployment may change on its own row: its lifecycle, nothing it saw.
LIFECYCLE = {"status", "started_at", "ended_at", "end_reason", "run_failed"}


def _files(root: Path) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.stat().st_size
    return out


def _changed_columns(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> set[str]:
    assert [r["id"] for r in before] == [r["id"] for r in after]
    return {k for b, a in zip(before, after) for k in b if b[k] != a[k]}


@pytest.mark.slow
def test_crowd_leaves_only_counts(
    store_settings: StoreSettings,
    shared_data: Path,
    models: tuple[Detector, Embedder],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = store_settings.data_dir
    settings = Settings().model_copy(update={"store": store_settings})
    ctx = AppContext.open(settings, actor="test")
    ctx.use_models(*models)
    sqlite = ctx.store.engine.dialect.name == "sqlite"
    try:
        people = sorted(p for p in (shared_data / "lfw" / "images").iterdir() if p.is_dir())
        enrolled = []
        for person in people[:WATCHLIST]:
            img = sorted(person.iterdir())[0]
            res = enrol_subject(
                ctx,
                reference=person.name,
                display_name=person.name,
                category="suspect",
                images=[
                    ImageSpec(
                        img, source_ref=f"lfw:{img.name}", lawful_basis="test", age_at_capture=30
                    )
                ],
                several_faces="central",
            )
            enrolled += [person.name] if res.enrolled else []
        assert len(enrolled) >= WATCHLIST * 0.98
        wl = compile_watchlist(ctx, "crowd test", enrolled)
        now = utcnow()
        dep = create_deployment(
            ctx,
            DeploymentDraft(
                name="crowd",
                purpose="test",
                location="test",
                location_reason="test",
                start=now - timedelta(minutes=1),
                end=now + timedelta(hours=1),
                watchlist_id=wl.id,
                cameras=[("crowd", str(shared_data / "video" / "crowd_1080p.mp4"))],
                equality_note="test",
            ),
        )
        authorise_deployment(ctx, dep, officer="Test", rank="superintendent", reasons="test")
        ctx.store.engine.dispose()
        before, before_files = dump_tables(ctx.store.engine), _files(data_dir)

        summary = run_deployment(ctx, dep)

        after = dump_tables(ctx.store.engine)
        cam = summary.cameras[0]
        assert cam.frames == 105 and cam.faces > 300 and cam.tracks >= 5, cam
        assert cam.embedded > 0, "faces were searched"
        assert summary.alert_ids == [] and after["alerts"] == []
        assert set(after) == set(before), "no table was created or dropped"
        # Row for row and byte for byte (every sealed image and embedding included), every
        # table is as it was, except: one counters row added, the audit of the run appended,
        # the audit head moved on, and the deployment's own lifecycle columns.
        changed = {t for t in after if after[t] != before[t]}
        # (A signed audit checkpoint may follow the entries appended: issue 9.)
        changed.discard("audit_checkpoints")
        assert changed == {"deployment_counters", "audit_log", "audit_head", "deployments"}
        assert before["reference_images"] == after["reference_images"]
        assert len(after["reference_images"]) == len(enrolled)
        assert all(r["embedding_blob"] for r in after["reference_images"])
        assert _changed_columns(before["deployments"], after["deployments"]) <= LIFECYCLE
        assert before["deployment_counters"] == []
        (counter,) = after["deployment_counters"]
        assert (counter["frames"], counter["faces"]) == (cam.frames, cam.faces)
        n = len(before["audit_log"])
        assert after["audit_log"][:n] == before["audit_log"], "the audit log is append-only"
        assert [a["action"] for a in after["audit_log"][n:]] == ["consultation"]
        with ctx.store.session() as s:
            assert verify_audit(s).ok
            assert s.scalars(select(m.Alert)).all() == []
        ctx.store.engine.dispose()  # checkpoint the WAL so the file list is final
        after_files = _files(data_dir)
        assert set(after_files) <= set(before_files) | {"openlfr.db-wal", "openlfr.db-shm"}
        # PostgreSQL keeps its key in settings: nothing at all is written under the data folder.
        allowed = {"openlfr.db", "openlfr.db-wal", "openlfr.db-shm", "keys/blob.key"}
        assert set(after_files) <= (allowed if sqlite else set()), after_files
        # No log line carries biometric data: no arrays, no long number runs.
        for rec in caplog.records:
            msg = rec.getMessage()
            assert "array(" not in msg and not any(len(w) > 200 for w in msg.split())
    finally:
        ctx.close()
