"""The root fixes of issue 9 findings 5-8, each as an attack that used to succeed: numbers out
of their column's range (500s), forwarded addresses believed from loopback, faces left on disk
by a killed upload, a world-readable database, unbounded reads, over-long and control-character
text, an undeclared upload body."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from openlfr.api.schema import openapi_schema
from openlfr.config import StoreSettings
from openlfr.errors import ImageRejected
from openlfr.service.enrolment import STALE_UPLOAD_PREFIX, remove_stale_uploads
from openlfr.store import models as m
from openlfr.store import open_store
from openlfr.store.models_accounts import WebSession
from openlfr.vision.images import MAX_DECODED_SIDE, read_image, read_image_bytes
from tests.attack.conftest import PASSWORD, World, table_counts
from tests.store_support import store_env

HUGE = str(2**63)


@pytest.mark.parametrize(
    ("identity", "url"),
    [
        ("none", f"/public/deployments/{HUGE}.json"),
        ("none", f"/public/deployments/{HUGE}.html"),
        ("none", "/public/deployments/0.json"),
        ("none", "/public/report.json?from=9999-12-31"),
        ("none", "/public/report.csv?to=9999-12-31"),
        ("operator", f"/api/alerts?deployment_id={HUGE}"),
        ("operator", f"/api/alerts/{HUGE}/probe.jpg"),
        ("supervisor", f"/api/deployments/{HUGE}/brief"),
        ("auditor", f"/api/deployments/{2**31}/record"),
        ("auditor", "/api/audit?start=9999-12-31T23:59:59"),
    ],
)
def test_out_of_range_numbers_and_dates_are_422_not_500(
    world: World, identity: str, url: str
) -> None:
    r = world.client.get(url, headers=world.identity(identity))
    assert r.status_code == 422, (url, r.status_code, r.text[:300])


@pytest.mark.parametrize(
    "change",
    [
        {"hours": 1e-12},
        {"hours": 0},
        {"start": "9999-12-31T23:00:00"},
        {"watchlist_id": 2**63},
        {"name": "Op \x1b[2J"},
        {"purpose": "find\x00 someone"},
    ],
)
def test_draft_values_out_of_range_are_refused_and_nothing_is_written(
    world: World, change: dict[str, object]
) -> None:
    body = {
        "name": "Op X",
        "purpose": "p",
        "location": "l",
        "location_reason": "r",
        "watchlist_id": world.ids["watchlist"],
        "cameras": ["cam=/dev/null"],
        **change,
    }
    before = table_counts(world.store)
    r = world.client.post("/api/deployments", json=body, headers=world.identity("supervisor"))
    assert r.status_code == 422, r.text
    assert table_counts(world.store) == before


def test_control_characters_in_a_justification_are_refused(world: World) -> None:
    before = table_counts(world.store)
    r = world.client.post(
        f"/api/alerts/{world.ids['alert']}/adjudicate",
        json={"decision": "false_alert", "reason": "looked\r\nFORGED LINE \x1b[31m"},
        headers=world.identity("operator"),
    )
    assert r.status_code == 422, r.text
    assert "control" in r.text
    assert table_counts(world.store) == before
    with world.store.session() as s:
        assert s.get(m.Alert, world.ids["alert"]).status == "pending"  # type: ignore[union-attr]


def test_the_upload_body_and_its_errors_are_declared(world: World) -> None:
    op = openapi_schema(world.client.app)["paths"]["/api/subjects"]["post"]  # type: ignore[arg-type]
    body = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"reference", "category", "images"} <= set(body["required"])
    assert body["properties"]["images"]["items"]["format"] == "binary"
    assert {"400", "401", "403", "404", "429"} <= {str(c) for c in op["responses"]}


def _upload(world: World, reference: str, files: list[tuple[str, bytes]]) -> httpx.Response:
    data = {
        "reference": reference,
        "category": "suspect",
        "source_ref": "CUST-9",
        "case_outcome": "charged",
        "age_at_capture": "30",
    }
    return world.client.post(
        "/api/subjects",
        data=data,
        files=[("images", (name, blob, "image/jpeg")) for name, blob in files],
        headers=world.identity("supervisor"),
    )


def test_an_upload_never_writes_a_face_to_the_temp_folder(
    world: World, shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    seen: list[str] = []
    real_open = os.open

    def watching_open(path: object, flags: int, *args: object, **kw: object) -> int:
        if str(path).startswith(str(spool)) and flags & (os.O_WRONLY | os.O_RDWR):
            seen.append(str(path))
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", watching_open)
    face = (shared_data / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    r = _upload(world, "SUBJ-UPLOAD-1", [("a.jpg", face), ("b.jpg", b"not an image")])
    assert r.status_code == 200, r.text
    statuses = [d["status"] for d in r.json()["images"]]
    assert statuses == ["enrolled", "refused"], r.json()
    assert seen == [] and list(spool.iterdir()) == []


def test_start_up_removes_upload_folders_left_by_an_old_killed_server(tmp_path: Path) -> None:
    left = tmp_path / f"{STALE_UPLOAD_PREFIX}abc" / "0"
    left.mkdir(parents=True)
    (left / "face.png").write_bytes(b"\x89PNG face")
    other = tmp_path / "someone-else"
    other.mkdir()
    assert remove_stale_uploads(tmp_path) == 1
    assert not left.parent.exists() and other.exists()


def test_a_100_character_reference_is_a_clear_error(world: World, shared_data: Path) -> None:
    face = (shared_data / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    before = table_counts(world.store)
    r = _upload(world, "R" * 100, [("a.jpg", face)])
    assert r.status_code == 422, r.text
    assert "reference" in r.text and "64" in r.text
    after = table_counts(world.store)
    assert after["subjects"] == before["subjects"]
    assert after["reference_images"] == before["reference_images"]


def test_database_and_folder_are_private_even_when_made_by_someone_else(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "openlfr.db"
    db.touch()
    db.chmod(0o644)
    settings = StoreSettings(data_dir=data)
    store = open_store(settings)
    try:
        with store.session() as s:
            s.add(m.Watchlist(name="w", created_by="t"))
        files = [p for p in data.iterdir() if p.name.startswith(db.name)]
        assert db in files
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for f in files:
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    finally:
        store.dispose()


def test_dev_zero_and_pipes_are_refused_without_reading_them(tmp_path: Path) -> None:
    with pytest.raises(ImageRejected, match="not a regular file"):
        read_image(Path("/dev/zero"))
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    # Opening a FIFO for reading blocks until a writer comes: open one so the check is reached.
    writer = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        with pytest.raises(ImageRejected, match="not a regular file"):
            read_image(fifo)
    finally:
        os.close(writer)
    with pytest.raises(ImageRejected, match="not a regular file"):
        read_image(tmp_path)


def test_cli_enrol_of_dev_zero_ends_quickly_with_a_clear_error(
    store_settings: StoreSettings, tmp_path: Path
) -> None:
    from openlfr.service.accounts import create_account

    store = open_store(store_settings)
    create_account(
        store,
        username="sup",
        password=PASSWORD,
        role="supervisor",
        display_name="S",
        rank=None,
        created_by="test",
    )
    store.dispose()
    env = {**os.environ, **store_env(store_settings), "OPENLFR_CONFIG_DIR": str(tmp_path / "c")}
    env.pop("OPENLFR_TOKEN", None)
    env.pop("OPENLFR_ACTOR", None)
    cmd = [sys.executable, "-m", "openlfr"]
    logged = subprocess.run(
        [*cmd, "login", "sup", "--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert logged.returncode == 0, logged.stdout + logged.stderr
    started = time.monotonic()
    done = subprocess.run(
        [
            *cmd,
            "enrol",
            "/dev/zero",
            "--ref",
            "Z1",
            "--category",
            "suspect",
            "--source",
            "CUST-0",
            "--outcome",
            "charged",
            "--age",
            "30",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "not a regular file" in out, out
    assert time.monotonic() - started < 120


def test_a_40_megapixel_photo_is_decoded_reduced(tmp_path: Path) -> None:
    big = tmp_path / "big.jpg"
    Image.new("RGB", (8000, 5000), (120, 90, 60)).save(big, quality=50)
    out = read_image_bytes(big.read_bytes(), "big.jpg")
    assert max(out.shape[:2]) <= MAX_DECODED_SIDE
    assert out.shape[1] > out.shape[0]  # the aspect ratio is kept


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_forwarded_for_from_loopback_is_not_believed(
    store_settings: StoreSettings, tmp_path: Path
) -> None:
    """A real `openlfr serve` (uvicorn): a client on loopback claiming another address in
    X-Forwarded-For is still counted, and recorded, as itself."""
    from openlfr.service.accounts import create_account

    store = open_store(store_settings)
    create_account(
        store,
        username="sup",
        password=PASSWORD,
        role="supervisor",
        display_name="S",
        rank=None,
        created_by="test",
    )
    port = _free_port()
    env = {
        **os.environ,
        **store_env(store_settings),
        "OPENLFR_WEB__LOGIN_MAX_FAILURES_PER_IP": "3",
        "OPENLFR_WEB__LOGIN_MAX_FAILURES": "100",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "openlfr", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                httpx.get(f"{base}/public", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.5)
        # Four failures, each claiming a fresh address: the per-address limit (3) still bites.
        codes = [
            httpx.post(
                f"{base}/api/token",
                json={"username": f"u{i}", "password": "x"},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
                timeout=10,
            ).status_code
            for i in range(4)
        ]
        assert codes[-1] == 429, codes
        time.sleep(0)  # the address lock does not stop a check of what a session records:
        with store.session() as s:
            s.query(WebSession).delete()
        env_ok = httpx.post(
            f"{base}/api/token",
            json={"username": "sup", "password": PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=10,
        )
        if env_ok.status_code == 200:
            with store.session() as s:
                clients = list(s.scalars(select(WebSession.client)))
            assert clients == ["127.0.0.1"], clients
        else:
            assert env_ok.status_code == 429  # locked by address, as it should be
        with store.session() as s:
            assert int(s.scalar(select(func.count()).select_from(WebSession)) or 0) <= 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        store.dispose()
