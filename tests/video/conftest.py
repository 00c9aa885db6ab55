"""Fixtures for the video tests: a real H.264 MPEG-TS stream served on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from fractions import Fraction

import av
import pytest
from video_support import KATIE, TSServer, clip


@pytest.fixture(scope="session")
def ts_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """KatieHill re-encoded as H.264 in MPEG-TS: a format cameras and encoders really send.

    Re-encoded rather than remuxed because the MPEG-4 Part 2 track keeps its headers out of band,
    and a short GOP lets a decoder start soon after joining.
    """
    src = clip(KATIE)
    out_path = tmp_path_factory.mktemp("stream") / "katie.ts"
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg2video"
    with av.open(str(src)) as inp, av.open(str(out_path), "w", format="mpegts") as out:
        ost = out.add_stream(codec, rate=25)
        assert isinstance(ost, av.VideoStream)
        ost.width, ost.height, ost.pix_fmt = 512, 512, "yuv420p"
        if codec == "libx264":
            ost.options = {"preset": "ultrafast", "tune": "zerolatency", "g": "10"}
        for i, frame in enumerate(inp.decode(video=0)):
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for packet in ost.encode(frame):
                out.mux(packet)
        for packet in ost.encode():
            out.mux(packet)
    return out_path.read_bytes()


@pytest.fixture
def ts_server(ts_bytes: bytes) -> Iterator[TSServer]:
    server = TSServer(ts_bytes).start()
    yield server
    server.stop()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/live.ts"
