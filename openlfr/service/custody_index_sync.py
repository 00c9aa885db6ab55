"""Keeps the custody index (matching/custody_index.py) in step with ``custody_images``.

The table is the record; the index is a cache of the eligible vectors. Every write commits to
the table first and then to the index, so a crash in between leaves rows with ``indexed``
False (added by the next sync) or withdrawn rows still indexed (removed by the next sync, and
never returned meanwhile: retrospective search re-checks every hit against the table).
"""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import or_, select, update

from openlfr.matching.custody_index import CustodyIndex
from openlfr.service.context import AppContext
from openlfr.store.models_custody import CustodyImage

_cache: dict[str, CustodyIndex] = {}
_lock = threading.Lock()


def index_folder(ctx: AppContext) -> str:
    return str(ctx.settings.store.data_dir / "custody-index")


def embedder_name(ctx: AppContext) -> str:
    """The embedding model's name, without loading the model when it is not loaded yet (an
    import on worker processes never needs it here); the backend's name is the model's."""
    loaded = ctx.models.embedder
    return loaded.name if loaded is not None else ctx.settings.vision.embedder


def open_custody_index(ctx: AppContext) -> CustodyIndex:
    """This store's custody index, opened once per process (it reloads itself on change)."""
    folder = index_folder(ctx)
    with _lock:
        if folder not in _cache:
            from pathlib import Path

            _cache[folder] = CustodyIndex.open(Path(folder), model=embedder_name(ctx))
        return _cache[folder]


def sync_custody_index(ctx: AppContext) -> tuple[int, int]:
    """(added, removed): eligible rows not yet indexed go in, indexed rows no longer eligible
    (withdrawn, erased) come out."""
    index = open_custody_index(ctx)
    with ctx.store.session() as s:
        gone = s.scalars(
            select(CustodyImage.id).where(
                CustodyImage.indexed.is_(True),
                or_(
                    CustodyImage.eligible.is_(False),
                    CustodyImage.withdrawn_at.is_not(None),
                    CustodyImage.erased_at.is_not(None),
                ),
            )
        ).all()
    removed = index.remove(np.asarray(gone, np.int64))
    with ctx.store.session() as s:
        todo = s.scalars(
            select(CustodyImage).where(
                CustodyImage.indexed.is_(False),
                CustodyImage.eligible.is_(True),
                CustodyImage.withdrawn_at.is_(None),
                CustodyImage.erased_at.is_(None),
            )
        ).all()
        ids = np.asarray([r.id for r in todo], np.int64)
        vecs = [np.frombuffer(ctx.store.unseal(r, "embedding_blob"), np.float32) for r in todo]
    added = index.add(ids, np.stack(vecs)) if vecs else 0
    mark_indexed(ctx, [int(i) for i in ids])
    return added, removed


def mark_indexed(ctx: AppContext, ids: list[int]) -> None:
    if not ids:
        return
    with ctx.store.session() as s:
        for a in range(0, len(ids), 5000):
            chunk = ids[a : a + 5000]
            s.execute(update(CustodyImage).where(CustodyImage.id.in_(chunk)).values(indexed=True))
