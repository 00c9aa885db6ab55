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


def test_full_disk_stops_clearly_and_resumes(tmp_path: Path, shared_data: Path) -> None:
    """A real full filesystem (a small tmpfs, root only): the import stops with a clear error,
    what came before is intact, and the same import run again completes."""
    import os
    import subprocess

    from openlfr.service.custody_import import CustodyStorageError

    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mnt)], capture_output=True
        ).returncode
    ):
        pytest.skip("needs root to mount a small tmpfs")
    images = shared_data / "lfw" / "images"
    try:
        settings = Settings(store=StoreSettings(data_dir=mnt / "data"))
        ctx = AppContext.open(settings, "test.supervisor")
        try:
            full = _csv(tmp_path, images, 8)
            lines = full.read_text().splitlines()
            head = tmp_path / "head.csv"
            head.write_text("\n".join(lines[:4]) + "\n")
            assert import_custody(ctx, head, images).imported == 3
            stat = os.statvfs(mnt)
            filler = mnt / "filler"
            with filler.open("wb") as fh:  # leave almost nothing free
                fh.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - 16 * 1024))
            with pytest.raises(CustodyStorageError, match="resume"):
                import_custody(ctx, full, images)
            filler.unlink()
            again = import_custody(ctx, full, images)
            assert again.skipped_existing == 3 and again.imported == 5
            assert len(open_custody_index(ctx)) == 7  # one NFA row is never indexed
        finally:
            ctx.close()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
