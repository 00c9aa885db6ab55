"""Shared fixtures for the whole suite.

- `backend` / `store_settings` / `store`: every store-touching test runs on a real SQLite file
  and on a real PostgreSQL server (a schema of its own per test, dropped after).
- `models`: the detector and embedder, loaded once per session.
- `shared_data`: ../shared/data, or a skip naming what to install (a failure when CI=true).
- The hook below: in CI a skip for a missing requirement (see tests/suite.py) is a failure.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from store_support import PG_URL, pg_schema
from suite import SHARED_DATA, needs, pytest_runtest_makereport

from openlfr.config import Settings, StoreSettings
from openlfr.store import Store, open_store
from openlfr.store.crypto import generate_key
from openlfr.vision.protocols import Detector, Embedder

__all__ = ["pytest_runtest_makereport"]  # the hook: in CI a missing requirement fails

# Most tests authorise a deployment and run it at once: they run with no advance notice (R19),
# as the demo's throw-away store does. Tests of the notice period set it themselves
# (tests/accountability). Set in the environment so CLI subprocesses inherit it too.
os.environ.setdefault("OPENLFR_ACCOUNTABILITY__NOTICE_HOURS", "0")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres]),
]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(needs("shared data", f"{SHARED_DATA} is missing"))
    return SHARED_DATA


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    """The default detector and embedder, loaded once for the whole session (read-only use)."""
    from openlfr.vision.factory import build_detector, build_embedder

    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture(scope="module")
def private_eval_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The evaluation embedding cache in a temporary folder shared by one module's tests, so a
    test measures its own embeddings, never a developer's warm cache."""
    from openlfr.evaluation import embedding_cache

    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("eval-cache")
    mp.setattr(embedding_cache, "default_cache_dir", lambda: cache)
    yield cache
    mp.undo()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend: sqlite or postgresql (select one with -m postgres / -m "not postgres")."""
    if request.param == "postgresql" and not PG_URL:
        pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))
    return str(request.param)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a brand-new schema, dropped after the test."""
    if not PG_URL:
        pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))
    with pg_schema(PG_URL) as url:
        yield url


@pytest.fixture
def store_settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreSettings:
    """Settings for a fresh store: SQLite with a key file, or PostgreSQL with a key in settings."""
    if backend == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
        return StoreSettings(data_dir=tmp_path / "data", database_url=url, key=generate_key())
    return StoreSettings(data_dir=tmp_path / "data")


@pytest.fixture
def store(store_settings: StoreSettings) -> Iterator[Store]:
    """A migrated store on the test's backend."""
    s = open_store(store_settings)
    try:
        yield s
    finally:
        s.dispose()


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@pytest.fixture
def bad_files(tmp_path: Path, shared_data: Path) -> dict[str, tuple[Path, str]]:
    """Files an enrolment must refuse: name -> (path, a fragment its refusal reason must hold).
    Generated into tmp_path (couple.jpg, two faces, is read from the shared data)."""
    folder = tmp_path / "bad"
    folder.mkdir()
    real = (shared_data / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    files = {
        "not_image": folder / "notes.jpg",
        "truncated": folder / "truncated.jpg",
        "bomb_64mp": folder / "bomb_64mp.png",
        "bomb_header": folder / "bomb_header.png",
        "no_face": folder / "grey.jpg",
        "empty": folder / "empty.jpg",
        "missing": folder / "missing.jpg",
        "several_faces": shared_data / "deepface" / "images" / "couple.jpg",
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
