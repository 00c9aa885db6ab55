"""Shared by the video tests: paths of real clips, and a real HTTP MPEG-TS server on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

import pytest
from suite import SHARED_DATA, needs

VIDEO = SHARED_DATA / "video"
KATIE = VIDEO / "WDA_KatieHill_000.mp4"  # 512x512, 200 frames at 25 fps, moov at the end
BBT = VIDEO / "bbt_5frames.mp4"  # 820x460, 5 frames at 23.976 fps
SELFIE = VIDEO / "selfie_portrait.mp4"  # 1080x1920, 138 frames, moov first (faststart)

STREAM_FRAMES = 200
T = TypeVar("T")
# Deadlines for what should take a second or two: generous, so a loaded CI machine is not a
# failure, yet a hang still ends in one.
DEADLINE_S = 60.0


def wait_for(cond: Callable[[], bool], timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        time.sleep(0.02)


def finish_within(work: Callable[[], T], timeout: float = DEADLINE_S) -> T:
    """Runs `work` on a thread and returns its result; fails (instead of hanging) past timeout."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed back to the test thread below
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s"
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def clip(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(needs("shared data", f"clip {path} is missing"))
    return path


class TSServer:
    """Streams the clip in a loop over plain HTTP at about `fps` frames a second per client.

    stop() ends every open response (the client sees the stream die) and frees the port;
    start() again on the same port is the camera coming back.
    """

    def __init__(self, data: bytes, fps: float = 50.0) -> None:
        self.data = data
        self.bytes_per_s = len(data) / STREAM_FRAMES * fps
        self.port = 0
        self.connections = 0
        self._halt = threading.Event()
        # Set: open responses go silent but stay connected, as a hung camera or a cut cable
        # behind a switch does; only a read time-out can tell.
        self.silent = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/live.ts"

    def start(self) -> TSServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "video/mp2t")
                self.end_headers()
                chunk = 188 * 32
                pause = chunk / owner.bytes_per_s
                pos = 0
                try:
                    while not owner._halt.is_set():
                        if owner.silent.is_set():
                            time.sleep(0.02)
                            continue
                        self.wfile.write(owner.data[pos : pos + chunk])
                        pos = (pos + chunk) % len(owner.data)
                        time.sleep(pause)
                except OSError:
                    pass  # the client went away

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._halt.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
