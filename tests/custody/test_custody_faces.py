"""The custody import's face engines (service/custody_faces.py) on real LFW faces: worker
processes on every core give, in input order, the same embeddings, images and rejects as
embedding in this process; an import through them equals one in this process; and on the Ray
test cluster (.ci/run's, at OPENLFR_TEST_RAY_ADDRESS) the import fans out and ends the same."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select
from suite import needs
from test_custody_import import _csv

from openlfr.config import Settings, StoreSettings
from openlfr.engines.ray_embed import EmbedResult
from openlfr.service.context import AppContext
from openlfr.service.custody_faces import InProcess, LocalPool, choose_engine
from openlfr.service.custody_import import import_custody
from openlfr.store.models_custody import CustodyImage

RAY_ENV = "OPENLFR_TEST_RAY_ADDRESS"


def _jobs(images: Path, tmp: Path) -> list[tuple[int, Path, str]]:
    files = [sorted(d.iterdir())[0] for d in sorted(images.iterdir())[:10]]
    (tmp / "text.jpg").write_text("not a picture")
    files.insert(4, tmp / "text.jpg")
    files.insert(7, tmp / "missing.jpg")
    return [(i, f, f.name) for i, f in enumerate(files)]


def _same(a: list[EmbedResult], b: list[EmbedResult]) -> None:
    assert [r.index for r in a] == [r.index for r in b] == list(range(len(a)))
    for x, y in zip(a, b, strict=True):
        assert (x.vector is None) == (y.vector is None) and x.reason == y.reason
        if x.vector is not None and y.vector is not None:
            assert float(x.vector @ y.vector) > 0.9999
            assert x.image is not None and y.image is not None
            shown = cv2.imdecode(np.frombuffer(x.image, np.uint8), cv2.IMREAD_COLOR)
            assert shown is not None and shown.shape[:2] == (250, 250)  # LFW's size, re-encoded


def test_worker_processes_match_this_process(tmp_path: Path, shared_data: Path) -> None:
    jobs = _jobs(shared_data / "lfw" / "images", tmp_path)
    ctx = AppContext.open(Settings(store=StoreSettings(data_dir=tmp_path / "d")), "test")
    pool = LocalPool(ctx.settings, 2)
    try:
        here = list(InProcess(ctx).embed(jobs))
        there = list(pool.embed(jobs))
        assert len(multiprocessing.active_children()) == 2  # one process per core here
    finally:
        pool.close()
        ctx.close()
    _same(here, there)
    rejected = {r.index for r in here if r.vector is None}
    assert {4, 7} <= rejected
    assert "cannot read" in (here[7].reason or "")


def test_small_imports_stay_here_and_large_ones_use_every_core(tmp_path: Path) -> None:
    ctx = AppContext.open(Settings(store=StoreSettings(data_dir=tmp_path)), "test")
    try:
        assert isinstance(choose_engine(ctx, 10), InProcess)
        big = choose_engine(ctx, 10_000, workers=2)
        try:
            assert isinstance(big, LocalPool) and big.workers == 2
        finally:
            big.close()
        assert isinstance(choose_engine(ctx, 10_000, workers=1), InProcess)
        with pytest.raises(ValueError, match="local or ray"):
            choose_engine(ctx, 10, engine="gpu")
    finally:
        ctx.close()


def _estate(ctx: AppContext) -> dict[str, tuple[bool, bytes]]:
    with ctx.store.session() as s:
        return {
            r.custody_id: (r.eligible, ctx.store.unseal(r, "embedding_blob"))
            for r in s.scalars(select(CustodyImage))
        }


def test_import_on_the_ray_cluster_equals_one_here(tmp_path: Path, shared_data: Path) -> None:
    address = os.environ.get(RAY_ENV)
    if not address:
        pytest.skip(needs("Ray", f"{RAY_ENV} is not set; .ci/run starts a two-node cluster"))
    pytest.importorskip("ray")
    images = shared_data / "lfw" / "images"
    csv_path = _csv(tmp_path, images, 12)
    here = AppContext.open(Settings(store=StoreSettings(data_dir=tmp_path / "here")), "t")
    there = AppContext.open(Settings(store=StoreSettings(data_dir=tmp_path / "ray")), "t")
    try:
        a = import_custody(here, csv_path, images, engine="local", workers=1)
        b = import_custody(there, csv_path, images, engine="ray", ray_address=address)
        assert (b.imported, b.rejected, b.eligible) == (a.imported, a.rejected, a.eligible)
        assert sorted(b.rejects) == sorted(a.rejects)
        ea, eb = _estate(here), _estate(there)
        assert set(ea) == set(eb)
        for key, (eligible, vec) in ea.items():
            assert eb[key][0] == eligible
            va, vb = np.frombuffer(vec, np.float32), np.frombuffer(eb[key][1], np.float32)
            assert float(va @ vb) > 0.9999
    finally:
        here.close()
        there.close()
