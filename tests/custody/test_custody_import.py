"""Custody import and index: real LFW faces, a real store; idempotent, NFA never indexed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.service.custody_import import CustodyCsvError, import_custody
from openlfr.service.custody_index_sync import open_custody_index


def _csv(tmp: Path, images: Path, n: int) -> Path:
    lines = ["custody_id,person_ref,image,captured,age_at_capture,case_outcome"]
    for i, person in enumerate(sorted(p.name for p in images.iterdir())[:n]):
        first = sorted((images / person).iterdir())[0].name
        outcome = "no_further_action" if i == 0 else "convicted"
        lines.append(f"C{i},P{i},{person}/{first},2020-01-02,30,{outcome}")
    lines.append("CX,PX,missing.jpg,2020-01-02,30,convicted")
    path = tmp / "c.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_import_idempotent_and_nfa_never_searched(
    store_settings: StoreSettings, tmp_path: Path, shared_data: Path
) -> None:
    images = shared_data / "lfw" / "images"
    ctx = AppContext.open(Settings(store=store_settings), "test.supervisor")
    try:
        first = import_custody(ctx, _csv(tmp_path, images, 6), images)
        assert (first.imported, first.rejected, first.ineligible) == (6, 1, 1)
        again = import_custody(ctx, tmp_path / "c.csv", images)
        assert again.imported == 0 and again.skipped_existing == 6
        index = open_custody_index(ctx)
        assert len(index) == 5
        probe = np.random.default_rng(0).standard_normal(index.dim).astype(np.float32)
        ids, _ = index.search(probe, 20)
        assert len(ids) == 5
        assert index.remove(ids[:1]) == 1 and ids[0] not in index.search(probe, 20)[0]
    finally:
        ctx.close()


def test_malformed_csv_names_line(store_settings: StoreSettings, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("custody_id,person_ref,image,captured,age_at_capture,case_outcome\na,b\n")
    ctx = AppContext.open(Settings(store=store_settings), "test.supervisor")
    try:
        with pytest.raises(CustodyCsvError, match="line 2"):
            import_custody(ctx, bad, tmp_path)
    finally:
        ctx.close()
