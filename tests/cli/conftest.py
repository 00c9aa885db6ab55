"""Service fixtures: a real store on a SQLite file in tmp_path, the real models loaded once."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    """The configured detector and embedder, loaded once for the whole session."""
    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture
def ctx(tmp_path: Path, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp_path / "store")})
    detector, embedder = models
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = detector, embedder
    try:
        yield context
    finally:
        context.close()


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
