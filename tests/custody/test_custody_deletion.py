"""Deletion on schedule (issue 11 item 5, R18) on a real estate of LFW faces: ineligible custody
images (NFA at import, acquitted since) are held unsearched through the review period set in
settings, then `purge` deletes image, embedding and index entry, audits each erasure, keeps
each row's identifiers, hash and history (R16), and leaves eligible images alone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from test_custody_import import _csv

from openlfr.config import Settings, StoreSettings
from openlfr.config_retro import RetroSettings
from openlfr.service.case_outcomes import record_case_outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.custody_import import import_custody
from openlfr.service.custody_index_sync import open_custody_index
from openlfr.service.estate_review import estate_review
from openlfr.service.retention import purge
from openlfr.store import verify_audit
from openlfr.store.models import AuditEntry
from openlfr.store.models_custody import CustodyImage

PERIOD_DAYS = 3.0


def _rows(ctx: AppContext) -> dict[str, CustodyImage]:
    with ctx.store.session() as s:
        rows = list(s.scalars(select(CustodyImage)))
        s.expunge_all()
    return {r.custody_id: r for r in rows}


def _events(ctx: AppContext, event: str) -> list[AuditEntry]:
    with ctx.store.session() as s:
        found = list(s.scalars(select(AuditEntry).where(AuditEntry.event == event)))
        s.expunge_all()
    return found


def test_ineligible_images_are_deleted_after_the_review_period(
    store_settings: StoreSettings, tmp_path: Path, shared_data: Path
) -> None:
    images = shared_data / "lfw" / "images"
    settings = Settings(store=store_settings, retro=RetroSettings(erase_after_days=PERIOD_DAYS))
    ctx = AppContext.open(settings, "test.supervisor")
    try:
        assert import_custody(ctx, _csv(tmp_path, images, 6), images).imported == 6
        record_case_outcome(ctx, "C1", "acquitted", reason="court result")
        before = _rows(ctx)
        gone = {"C0", "C1"}  # C0: NFA at import; C1: acquitted since
        assert {k for k, r in before.items() if not r.eligible} == gone
        index = open_custody_index(ctx)
        # A crash between the withdrawal's commit and its index update would leave the vector
        # in the index; the erasure must take it out whatever the index holds.
        c1 = before["C1"]
        with ctx.store.session() as s:
            row = s.get(CustodyImage, c1.id)
            assert row is not None
            stale = np.frombuffer(ctx.store.unseal(row, "embedding_blob"), np.float32)
        index.add(np.asarray([c1.id], np.int64), stale[None, :])
        assert c1.id in index.alive_ids()

        # Within the review period: nothing is deleted.
        early = purge(ctx, now=utcnow() + timedelta(days=PERIOD_DAYS - 1))
        assert not [st for st in early.steps if st.rule == "R18"]
        assert all(r.image_blob and r.erased_at is None for r in _rows(ctx).values())

        # After it: both ineligible images deleted, in one audited batch.
        later = utcnow() + timedelta(days=PERIOD_DAYS + 1)
        done = [st for st in purge(ctx, now=later).steps if st.rule == "R18"]
        assert done and all(st.done for st in done)
        after = _rows(ctx)
        for key in gone:
            row, old = after[key], before[key]
            assert row.image_blob == b"" and row.embedding_blob == b""
            assert row.erased_at is not None
            # R16: what was held, and when, stays answerable.
            kept = ("custody_id", "person_ref", "case_outcome", "image_sha256", "created_at")
            assert all(getattr(row, f) == getattr(old, f) for f in kept)
        for key in set(after) - gone:
            assert after[key].image_blob == before[key].image_blob and after[key].eligible
        alive = set(open_custody_index(ctx).alive_ids().tolist())
        assert alive == {after[k].id for k in set(after) - gone}

        erased = _events(ctx, "custody_image_erased")
        assert sorted(e.object_id for e in erased) == sorted(str(after[k].id) for k in gone)
        assert all(e.action == "erasure" and "R18" in e.justification for e in erased)
        assert all(json.loads(e.detail or "{}")["erase_after_days"] == PERIOD_DAYS for e in erased)
        # The history of each deleted image is still in the log: imported, then withdrawn.
        imported = {e.object_id for e in _events(ctx, "custody_image_imported")}
        assert {str(after[k].id) for k in gone} <= imported
        assert [e.object_id for e in _events(ctx, "custody_image_withdrawn")] == [str(c1.id)]

        # Run again: nothing more to delete, no second erasure recorded.
        assert not [st for st in purge(ctx, now=later).steps if st.rule == "R18"]
        assert len(_events(ctx, "custody_image_erased")) == len(gone)
        with ctx.store.session() as s:
            check = verify_audit(s)
            assert check.ok, check.reason
        review = estate_review(ctx, end=later + timedelta(seconds=1))
        assert review.deleted_in_period == len(gone) and review.ineligible_held == 0
    finally:
        ctx.close()
