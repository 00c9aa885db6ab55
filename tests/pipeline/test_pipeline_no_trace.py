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

import pytest
from sqlalchemy import func, inspect, select

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store import verify_audit

WATCHLIST = 500


def _snapshot(ctx: AppContext) -> dict[str, int]:
    names = inspect(ctx.store.engine).get_table_names()
    with ctx.store.engine.connect() as c:
        return {
            n: c.execute(select(func.count()).select_from(m.Base.metadata.tables[n])).scalar_one()
            for n in names
            if n in m.Base.metadata.tables
        }


def _files(root: Path) -> dict[str, int]:
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = p.stat().st_size
    return out


@pytest.mark.slow
def test_crowd_leaves_only_counts(
    tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    data_dir = tmp_path / "store"
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=data_dir)})
    ctx = AppContext.open(settings, actor="test")
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
        before_rows, before_files = _snapshot(ctx), _files(data_dir)

        summary = run_deployment(ctx, dep)

        after_rows = _snapshot(ctx)
        cam = summary.cameras[0]
        assert cam.frames == 105 and cam.faces > 300 and cam.tracks >= 5, cam
        assert cam.embedded > 0, "faces were searched"
        assert summary.alert_ids == [] and after_rows["alerts"] == 0
        changed = {t for t in after_rows if after_rows[t] != before_rows[t]}
        # Only counters and the audit of the run (the watchlist consultation) may grow.
        assert changed <= {"deployment_counters", "audit_log", "audit_head"}, changed
        assert after_rows["deployment_counters"] == before_rows["deployment_counters"] + 1
        with ctx.store.session() as s:
            counter = s.scalars(select(m.DeploymentCounter)).one()
            assert (counter.frames, counter.faces) == (cam.frames, cam.faces)
            new_audit = list(
                s.scalars(select(m.AuditEntry).where(m.AuditEntry.id > before_rows["audit_log"]))
            )
            assert [a.action for a in new_audit] == ["consultation"]
            assert verify_audit(s).ok
        ctx.store.engine.dispose()  # checkpoint the WAL so the file list is final
        after_files = _files(data_dir)
        assert set(after_files) <= set(before_files) | {"openlfr.db-wal", "openlfr.db-shm"}
        for name in after_files:
            assert name in {"openlfr.db", "openlfr.db-wal", "openlfr.db-shm", "keys/blob.key"}
        # No log line carries biometric data: no arrays, no long number runs.
        for rec in caplog.records:
            msg = rec.getMessage()
            assert "array(" not in msg and not any(len(w) > 200 for w in msg.split())
        # And no reference image vector was re-written: the store's blobs are unchanged.
        with ctx.store.session() as s:
            blobs = [r.embedding_blob for r in s.scalars(select(m.ReferenceImage))]
        assert len(blobs) == len(enrolled) and all(len(b) > 0 for b in blobs)
    finally:
        ctx.close()
