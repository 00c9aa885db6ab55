"""CLI fixtures: the `openlfr` app run in-process on a store in tmp_path; generated bad files."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from PIL import Image
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


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files an enrolment must refuse: name -> (path, a fragment its refusal reason must hold).
    Generated into tmp_path (couple.jpg, two faces, is read from the shared data)."""
    folder = tmp_path / "bad"
    folder.mkdir()
    real = (LFW / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    files = {
        "not_image": folder / "notes.jpg",
        "truncated": folder / "truncated.jpg",
        "bomb_64mp": folder / "bomb_64mp.png",
        "bomb_header": folder / "bomb_header.png",
        "no_face": folder / "grey.jpg",
        "empty": folder / "empty.jpg",
        "missing": folder / "missing.jpg",
        "several_faces": DATA / "deepface" / "images" / "couple.jpg",
    }
    files["not_image"].write_text("custody record 1234: this is text, not a photograph\n")
    files["truncated"].write_bytes(real[: len(real) // 2])
    Image.new("1", (8000, 8000)).save(files["bomb_64mp"])  # 64 MP, a few kB on disk
    # A tiny PNG whose header claims 30000x30000 pixels (900 MP): PIL's own bomb check fires.
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0)
    files["bomb_header"].write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b""))
        + _png_chunk(b"IEND", b"")
    )
    Image.new("RGB", (320, 320), (128, 128, 128)).save(files["no_face"])
    files["empty"].write_bytes(b"")
    return {key: (path, EXPECTED_REASON[key]) for key, path in files.items()}


EXPECTED_REASON = {
    "not_image": "not an image",
    "truncated": "truncated",
    "bomb_64mp": "pixel limit",
    "bomb_header": "decompression bomb",
    "no_face": "no face found",
    "empty": "empty file",
    "missing": "cannot read file",
    "several_faces": "2 faces found",
}
