"""`openlfr demo`: the README's first command, in a store of its own (never the force's), ends
with exactly one true alert and no false one, counts the one person who walks past as one, and
can be run again on the same demo store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from openlfr.config import StoreSettings

# The demo is SQLite by design (a store of its own in a folder, never the force's): the force's
# store it must leave alone is the SQLite variant of the root fixture, so one backend suffices.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
# The built-in feed: 6 s at 25 fps; the one face is in frames 37-134 (t in [0.25, 0.9)).
FRAMES, FACE_FRAMES = 150, range(37, 135)


@pytest.mark.slow
def test_demo_uses_its_own_store_and_runs_twice(
    cli: Callable[..., Result],
    store_settings: StoreSettings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The default demo folder lives under the user data directory: point that at tmp_path.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    demo_store = tmp_path / "xdg" / "openlfr" / "demo"
    force_store = store_settings.data_dir  # the store `cli` gives every command
    for run in (1, 2):
        result = cli("demo")
        assert result.exit_code == 0, result.stdout + result.stderr
        assert f"demo store: {demo_store} (not your force's store)" in result.stdout
        assert "true alerts: 1, false alerts: 0" in result.stdout
        assert "people seen: 1 (expected 1)" in result.stdout
        (refusal,) = [ln for ln in result.stdout.splitlines() if " refused: " in ln]
        assert refusal.startswith("custody_CR-2025-1187.jpg refused") and "R3" in result.stdout
        assert f"deployment {run} authorised by superintendent" in result.stdout
        assert f"--store-dir {demo_store} deployment record {run}" in result.stdout
    assert (demo_store / "openlfr.db").is_file()
    assert not force_store.exists()  # nothing of the demo went into the force's store

    # A published record needs no login; read it from the demo's store.
    out = cli("--store-dir", demo_store, "deployment", "record", "2", "--json")
    assert out.exit_code == 0, out.output
    rec = json.loads(out.stdout)
    assert rec["status"] == "ended" and rec["did_not_run"] is False
    assert rec["end_reason"] == "source ended"
    assert rec["frames"] == FRAMES and rec["frames_dropped"] == 0
    assert rec["people_seen"] == rec["tracks"] == 1  # one person walked past: one track
    # Detections are per frame: at most one per frame the face is in, and nearly every one.
    assert len(FACE_FRAMES) - 8 <= rec["face_detections"] <= len(FACE_FRAMES)
    assert (rec["alerts"], rec["pending"], rec["confirmed"], rec["false_alerts"]) == (1, 1, 0, 0)
    assert rec["watchlist_size"] == 1 and rec["authorising_rank"] == "superintendent"
    assert rec["false_alerts_per_1000_people"] == 0.0
    verify = cli("--store-dir", demo_store, "audit", "verify")
    assert verify.exit_code == 0 and re.search(r"\d+ rows checked", verify.stdout)


def test_demo_refuses_the_force_store_as_its_folder(
    cli: Callable[..., Result], store_settings: StoreSettings
) -> None:
    result = cli("demo", "--demo-dir", store_settings.data_dir)
    assert result.exit_code == 2
    assert "holds the force's own store" in result.stderr
    assert not (store_settings.data_dir / "openlfr.db").exists()
