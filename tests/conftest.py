"""Shared fixtures: where ../shared/data is, and models loaded once per session."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: tests read real images and video from it")
    return SHARED_DATA


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Files an enrolment must refuse: name -> (path, a fragment its refusal reason must hold).
    Generated into tmp_path (couple.jpg, two faces, is read from the shared data)."""
    folder = tmp_path / "bad"
    folder.mkdir()
    real = (SHARED_DATA / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    files = {
        "not_image": folder / "notes.jpg",
        "truncated": folder / "truncated.jpg",
        "bomb_64mp": folder / "bomb_64mp.png",
        "bomb_header": folder / "bomb_header.png",
        "no_face": folder / "grey.jpg",
        "empty": folder / "empty.jpg",
        "missing": folder / "missing.jpg",
        "several_faces": SHARED_DATA / "deepface" / "images" / "couple.jpg",
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
