"""An uploaded face never touches the disk in the clear (issue 9 item 4): a real `openlfr serve`
receives a > 1 MiB custody photo (Starlette would spool it to $TMPDIR past 1 MiB) and, while the
request is still open, neither its TMPDIR nor any file the process holds open there contains
the image's bytes. Also: a multipart body with no length, or over its form's limit, is refused
before any of it is read."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest
from serve_support import serve
from suite import data_path

from openlfr.api.uploads import DEFAULT_MULTIPART_BYTES
from openlfr.config import StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.sessions import issue_session
from openlfr.store import open_store
from openlfr.store.models_accounts import SessionKind


@pytest.fixture
def backend() -> str:
    return "sqlite"  # what is under test is the server's handling of the body, not the store


def _big_photo() -> bytes:
    """A real face photo, enlarged and PNG-encoded to well over the 1 MiB spool threshold."""
    img = cv2.imread(str(data_path("lfw", "images", "Eric_Daze", "Eric_Daze_0001.jpg")))
    big = cv2.resize(img, (1400, 1400), interpolation=cv2.INTER_CUBIC).astype(np.int16)
    # A little sensor-like grain, so the PNG cannot compress the enlargement away.
    big += np.random.default_rng(9).integers(-6, 7, big.shape, dtype=np.int16)
    big = np.clip(big, 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".png", big)
    assert ok and len(buf) > 2 * 2**20, len(buf)
    return buf.tobytes()


def _holding(pid: int, tmpdir: Path, needle: bytes) -> list[str]:
    """Files under ``tmpdir`` (named, or unlinked but held open by ``pid``) holding ``needle``."""
    found = []
    for path in tmpdir.rglob("*"):
        if path.is_file() and needle in path.read_bytes():
            found.append(str(path))
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(tmpdir)):  # "/tmp/x/#123 (deleted)": O_TMPFILE or unlinked
            try:
                data = fd.read_bytes()
            except OSError:
                data = b""
            found.append(f"{target} (open, {len(data)} bytes, has image: {needle in data})")
    return found


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def test_a_large_upload_stays_in_memory(store_settings: StoreSettings, tmp_path: Path) -> None:
    store = open_store(store_settings)
    account = create_account(store, username="sup", password="correct horse battery staple",
                             role="supervisor", display_name="S", rank=None,
                             created_by="test")  # fmt: skip
    token, _ = issue_session(store, int(account), SessionKind.BEARER, 1.0, "test")
    store.dispose()
    photo = _big_photo()
    needle = photo[len(photo) // 2 : len(photo) // 2 + 64]  # a run of the image's own bytes
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    boundary = uuid.uuid4().hex
    head = "".join(
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        for k, v in {"reference": "UP-1", "category": "suspect", "source_ref": "CUST-1",
                     "case_outcome": "charged"}.items()
    ).encode() + (f"--{boundary}\r\nContent-Disposition: form-data; name=\"images\"; "
                  'filename="custody.png"\r\nContent-Type: image/png\r\n\r\n').encode()  # fmt: skip
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = head + photo + tail
    with serve(store_settings, tmpdir) as (base, proc):
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
            request = (f"POST /api/subjects HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                       f"Authorization: Bearer {token}\r\nContent-Length: {len(body)}\r\n"
                       f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                       "Connection: close\r\n\r\n")  # fmt: skip
            conn.sendall(request.encode() + head + photo)
            # The whole image is in the server's parser now; the body's end is held back, so
            # the request (and anything it spooled) is still open while we look.
            time.sleep(1.5)
            pids = [proc.pid, *_children(proc.pid)]
            during = [f for pid in pids for f in _holding(pid, tmpdir, needle)]
            conn.sendall(tail)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        after = _holding(proc.pid, tmpdir, needle)
    status = reply.split(b"\r\n", 1)[0]
    assert b" 200 " in status, reply[:500]
    assert b'"status"' in reply  # the image reached the enrolment and got a decision
    assert during == [], during
    assert after == [], after


def test_multipart_without_length_or_over_limit_is_refused_unread(
    store_settings: StoreSettings, tmp_path: Path
) -> None:
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    with serve(store_settings, tmpdir) as (base, _proc):
        headers = {"Content-Type": "multipart/form-data; boundary=x"}

        def chunks() -> object:
            yield b"--x\r\n"

        # No Content-Length (chunked): refused, even before authentication is looked at.
        r = httpx.post(f"{base}/api/exceptional", content=chunks(), headers=headers, timeout=10)
        assert r.status_code == 411, r.text
        # Over the limit: answered from the headers, with none of the body sent at all.
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            request = (f"POST /api/exceptional HTTP/1.1\r\nHost: x\r\nContent-Type: "
                       f"{headers['Content-Type']}\r\nContent-Length: "
                       f"{DEFAULT_MULTIPART_BYTES + 1}\r\n\r\n")  # fmt: skip
            conn.sendall(request.encode())
            reply = b""  # the headers and the chunked body may come in separate packets
            while b"\r\n0\r\n\r\n" not in reply and (part := conn.recv(65536)):
                reply += part
        assert reply.startswith(b"HTTP/1.1 413"), reply[:300]
        assert b"nothing was enrolled or kept" in reply
