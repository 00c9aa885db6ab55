"""A real `openlfr serve` process on a store of its own, for tests that need the server as it runs
in production (uvicorn, Starlette's multipart parser, the process's own TMPDIR)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from store_support import store_env
from suite import REPO

from openlfr.config import StoreSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(
    settings: StoreSettings, tmpdir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base URL, process) of `openlfr serve` on ``settings``' store, with TMPDIR=``tmpdir``."""
    port = free_port()
    env = {**os.environ, **store_env(settings), "TMPDIR": str(tmpdir), **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlfr", "serve", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/public", timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    raise AssertionError(f"openlfr serve did not start: {err[-2000:]}") from None
                time.sleep(0.2)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
