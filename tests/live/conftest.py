"""Fixtures for tests against a real RTSP server (GStreamer) on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rtsp_support import AUTH, DEBS, RtspServer, gstreamer_missing
from suite import SHARED_DATA, needs

CLIPS = ("WDA_KatieHill_000.mp4", "RD_Radio34_000.mp4")


@pytest.fixture(scope="session")
def rtsp_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    missing = gstreamer_missing()
    if missing:
        pytest.skip(needs("GStreamer", f"{missing}; apt-get install {DEBS}"))
    return tmp_path_factory.mktemp("rtsp-h264")


@pytest.fixture(scope="session")
def clips() -> list[Path]:
    paths = [SHARED_DATA / "video" / name for name in CLIPS]
    for path in paths:
        if not path.is_file():
            pytest.skip(needs("shared data", f"clip {path} is missing"))
    return paths


@pytest.fixture
def rtsp_server(rtsp_cache: Path, clips: list[Path]) -> Iterator[RtspServer]:
    """A running server (Basic auth with AUTH) serving CLIPS; killed at the end of the test."""
    server = RtspServer(clips, rtsp_cache, auth=AUTH)
    server.start()
    try:
        yield server
    finally:
        server.kill()
