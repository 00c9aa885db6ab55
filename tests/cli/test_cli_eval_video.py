"""`openlfr eval video`: its fixed JSON interface, on a real clip and a folder watchlist."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from suite import SHARED_DATA
from typer.testing import Result

CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
# `eval video` opens no store (a throw-away one of its own, checked below), so the backend
# does not matter: one variant, the whole clip decoded once.
pytestmark = [
    pytest.mark.usefixtures("shared_data"),
    pytest.mark.parametrize("backend", ["sqlite"]),
]
KEYS = {
    "frames", "seconds", "fps", "faces_detected", "tracks", "threshold", "alerts",
    "alerted_identities", "enrol_failures",
}  # fmt: skip
ALERT_KEYS = {"identity", "track_id", "first_frame", "last_frame", "score"}


@pytest.mark.slow
def test_cli_eval_video_json(
    cli: Callable[..., Result],
    katie_ref: Path,
    katie_clip_frames: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wl = tmp_path / "watchlist"
    (wl / "WDA_KatieHill").mkdir(parents=True)
    shutil.copyfile(katie_ref, wl / "WDA_KatieHill" / "ref.jpg")
    (wl / "Someone").mkdir()
    shutil.copyfile(
        SHARED_DATA / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg", wl / "Someone" / "a.jpg"
    )
    (wl / "Broken").mkdir()
    broken = wl / "Broken" / "photo.jpg"
    broken.write_text("this is not a photograph")
    out = tmp_path / "results" / "eval.json"
    # The evaluation uses a throw-away store: point the real one somewhere it can be checked.
    store = tmp_path / "real-store"
    monkeypatch.setenv("OPENLFR_STORE__DATA_DIR", str(store))

    result = cli("eval", "video", "--video", CLIP, "--watchlist", wl, "--json", out)

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout is exactly one JSON object, nothing else
    assert isinstance(report, dict) and set(report) == KEYS
    assert report["frames"] == katie_clip_frames
    assert report["faces_detected"] > 0 and report["tracks"] >= 1
    assert report["seconds"] > 0 and report["fps"] == pytest.approx(
        report["frames"] / report["seconds"], rel=0.02
    )
    assert report["alerted_identities"] == {"WDA_KatieHill": 1}
    (alert,) = report["alerts"]
    assert set(alert) == ALERT_KEYS and alert["identity"] == "WDA_KatieHill"
    assert 0 <= alert["first_frame"] <= alert["last_frame"] < report["frames"]
    assert alert["score"] >= report["threshold"]
    failures = report["enrol_failures"]
    assert [f["image"] for f in failures] == [str(broken)]
    assert set(failures[0]) == {"image", "reason"} and "not an image" in failures[0]["reason"]
    assert json.loads(out.read_text()) == report
    assert not store.exists()  # nothing of the evaluation went into the real store
