"""A handle on tests/live/rtsp_server.py: start it (Debian's /usr/bin/python3), kill it, restart
it on the same port, and send it faults. Shared by the live tests and benchmarks/cameras.py."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"
# Debian packages the server needs (also in .ci/run).
DEBS = (
    "gir1.2-gst-rtsp-server-1.0 python3-gst-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly "
    "gstreamer1.0-libav"
)
# Credentials the servers ask for: tests check they are never logged or shown.
AUTH = "camuser:Sec-ret.42"
# The first start encodes each clip to H.264 once (cached); later starts take well under 1 s.
START_TIMEOUT_S = 120.0


def gstreamer_missing() -> str | None:
    """Why the server cannot run here, or None when it can."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return f"{SYSTEM_PYTHON} is missing"
    probe = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0');"
        "from gi.repository import Gst; Gst.init(None);"
        "missing = [e for e in ('x264enc', 'rtph264pay', 'h264parse', 'decodebin', 'appsrc')"
        " if Gst.ElementFactory.find(e) is None]; print(' '.join(missing))"
    )
    try:
        done = subprocess.run(
            [SYSTEM_PYTHON, "-c", probe], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{SYSTEM_PYTHON} cannot load GStreamer: {exc}"
    if done.returncode != 0:
        return f"{SYSTEM_PYTHON} cannot load GStreamer's RTSP server: {done.stderr.strip()[-200:]}"
    if done.stdout.strip():
        return f"GStreamer elements missing: {done.stdout.strip()}"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RtspServer:
    """One server process at a time on a fixed loopback port; `kill()` then `start()` is a
    camera's server dying and coming back."""

    def __init__(
        self, clips: list[Path], cache: Path, *, port: int | None = None, auth: str | None = None
    ) -> None:
        self.clips = clips
        self.cache = cache
        self.port = port or free_port()
        self.auth = auth
        self.starts = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str] = queue.Queue()

    def url(self, clip: str | Path, *, credentials: bool = True) -> str:
        name = Path(clip).stem
        who = f"{self.auth}@" if self.auth and credentials else ""
        return f"rtsp://{who}127.0.0.1:{self.port}/{name}"

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (benchmarks read its CPU time)."""
        return self._proc.pid if self.running and self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        assert not self.running, "the server is already running"
        args = [SYSTEM_PYTHON, str(SERVER), "--port", str(self.port), "--cache", str(self.cache)]
        if self.auth:
            args += ["--auth", self.auth]
        args += [str(c) for c in self.clips]
        self._lines = queue.Queue()
        self._proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        threading.Thread(target=self._read, args=(self._proc, self._lines), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        line = self._next_line(deadline)
        if not line.startswith("READY"):
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {line!r}")
        # READY is printed once the socket listens; make sure it answers before going on.
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"RTSP server does not answer on {self.port}") from None
                time.sleep(0.05)
        self.starts += 1

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.strip())
        lines.put("EXITED")

    def _next_line(self, deadline: float) -> str:
        try:
            return self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return "TIMEOUT"

    def command(self, text: str, timeout: float = 10.0) -> None:
        """Send a fault command and wait for the server to acknowledge it."""
        assert self._proc is not None and self._proc.stdin is not None and self.running
        self._proc.stdin.write(text + "\n")
        self._proc.stdin.flush()
        line = self._next_line(time.monotonic() + timeout)
        if line != f"OK {text}":
            raise RuntimeError(f"RTSP server answered {line!r} to {text!r}")

    def stall(self, seconds: float) -> None:
        self.command(f"stall {seconds:g}")

    def corrupt(self, frames: int) -> None:
        self.command(f"corrupt {frames}")

    def kill(self) -> None:
        """SIGKILL: the server dies without closing anything, as on a power cut."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
        if proc is not None:
            proc.wait(30)
            if proc.stdin is not None:
                with contextlib.suppress(OSError):  # the pipe's reader is dead already
                    proc.stdin.close()
