"""CLI fixtures: the `openlfr` app run in-process on a store in tmp_path; generated bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest
from typer.testing import CliRunner, Result

from openlfr.cli import app

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"
KATIE_CLIP = DATA / "video" / "WDA_KatieHill_000.mp4"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Runs `openlfr --store-dir <tmp_path>/store ARGS...` in-process; returns the result with
    stdout and stderr apart. Rich is given a wide line so that each message stays on one line."""
    from openlfr.cli import common

    monkeypatch.setenv("COLUMNS", "4000")
    monkeypatch.setenv("OPENLFR_ACTOR", "pc.tester")
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)
    runner = CliRunner()
    store = tmp_path / "store"

    def invoke(*args: object, store_dir: bool = True) -> Result:
        argv = [str(a) for a in args]
        if store_dir:
            argv = ["--store-dir", str(store), *argv]
        result = runner.invoke(app, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """The SQLite file that `cli` uses."""
    return tmp_path / "store" / "openlfr.db"


def frame_at(video: Path, seconds: float, out: Path) -> Path:
    """Saves the first frame at or after `seconds` of `video` as a JPEG (PyAV)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                frame.to_image().save(out, quality=95)
                return out
    raise AssertionError(f"{video} has no frame at {seconds} s")


@pytest.fixture(scope="session")
def katie_clip_frames() -> int:
    """How many frames the WDA_KatieHill clip holds, counted by decoding it with PyAV."""
    with av.open(str(KATIE_CLIP)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope="session")
def katie_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference photo of WDA_KatieHill: the clip's frame at 7.5 s."""
    return frame_at(KATIE_CLIP, 7.5, tmp_path_factory.mktemp("katie") / "ref.jpg")
