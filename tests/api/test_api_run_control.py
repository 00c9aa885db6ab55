"""Runs seen from the service: the face-to-alert latency of a real run (frame captured -> alert
stored, exported to Prometheus), and stopping a run from the web or API, both one running in
the server and one running in a separate `openlfr deployment run` process (the runner polls
the request; it ends "stopped by <user>", audited)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from suite import SHARED_DATA

from openlfr.config import Settings, StoreSettings, VideoSettings, WebSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m

REPO = Path(__file__).resolve().parents[2]
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
pytestmark = pytest.mark.usefixtures("shared_data")


@pytest.fixture
def settings(store_settings: StoreSettings) -> Settings:
    """Files paced at their own frame rate, as a camera would deliver them."""
    web = WebSettings(alert_poll_s=0.1)
    return Settings().model_copy(
        update={"store": store_settings, "web": web, "video": VideoSettings(realtime=True)}
    )


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s of blank frames at 10 fps: a run that only a stop ends within the test."""
    out = tmp_path_factory.mktemp("clip") / "blank60.mp4"
    with av.open(str(out), "w") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(600):
            img = np.full((64, 64, 3), 40 + i % 20, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")))
        container.mux(stream.encode())
    return out


@pytest.fixture
def deploy(client: TestClient, tmp_path: Path) -> Iterator[Callable[[Path], int]]:
    """Authorised deployments with one camera on the given file (watchlist: the clip's
    subject, enrolled from its frame at 7.5 s)."""
    ctx: AppContext = client.app.state.svc.context("sgt.setup", models=True)  # type: ignore[attr-defined]
    ref = tmp_path / "ref.jpg"
    with av.open(str(CLIP)) as container:
        frame = next(f for f in container.decode(video=0) if f.time and f.time >= 7.5)
        frame.to_image().save(ref, quality=95)
    spec = ImageSpec(ref, "CUST-7", "PACE s64A", "charged", date.today(), 30)
    assert enrol_subject(ctx, reference="SUBJ-1", display_name="S", category="suspect",
                         images=[spec]).enrolled  # fmt: skip
    wl = compile_watchlist(ctx, "WL run")

    def make(source: Path) -> int:
        now = utcnow()
        draft = DeploymentDraft(
            "Op Run", "locate a suspect", "High Street", "sightings",
            now - timedelta(minutes=1), now + timedelta(hours=1), wl.id,
            [("cam1", str(source))], None, "reviewed",
        )  # fmt: skip
        dep_id = create_deployment(ctx, draft)
        authorise_deployment(
            ctx, dep_id, officer="A Smith", rank="superintendent", reasons="run control test"
        )
        return dep_id

    yield make


def _deployment(client: TestClient, dep_id: int) -> tuple[m.Deployment, list[m.DeploymentCounter]]:
    counter = m.DeploymentCounter
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        dep = s.get(m.Deployment, dep_id)
        counters = list(s.scalars(select(counter).where(counter.deployment_id == dep_id)))
        return dep, counters


def _wait(client: TestClient, dep_id: int, status: str, timeout: float) -> None:
    """Polls the store; `timeout` is a generous deadline, not a speed claim."""
    deadline = time.monotonic() + timeout
    while _deployment(client, dep_id)[0].status != status:
        assert time.monotonic() < deadline, f"deployment {dep_id} never became {status}"
        time.sleep(0.1)


def _events(client: TestClient, dep_id: int) -> dict[str, str]:
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        rows = s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.object_type == "deployment", m.AuditEntry.object_id == str(dep_id)
            )
        )
        return {e.event or "": e.actor for e in rows}


def _metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert found, f"{name} not exported"
    return float(found.group(1))


@pytest.mark.slow
def test_face_to_alert_latency_is_stored_and_exported(
    client: TestClient, tokens: dict[str, dict[str, str]], deploy: Callable[[Path], int]
) -> None:
    dep_id = deploy(CLIP)
    r = client.post(f"/api/deployments/{dep_id}/start", headers=tokens["operator"])
    assert r.status_code == 202, r.text
    _wait(client, dep_id, "ended", 180)
    dep, _ = _deployment(client, dep_id)
    with client.app.state.svc.store.session() as s:  # type: ignore[attr-defined]
        alerts = list(s.scalars(select(m.Alert).where(m.Alert.deployment_id == dep_id)))
    assert alerts, "the clip's subject raised no alert"
    latencies = []
    for a in alerts:
        assert a.frame_at is not None and dep.started_at is not None
        # Captured before stored, and within the run: a real measurement, not a constant.
        # (No bound on its size here: speed claims live in benchmarks/.)
        assert dep.started_at <= a.frame_at < a.raised_at, (dep.started_at, a.frame_at)
        latencies.append((a.raised_at - a.frame_at).total_seconds())
    deadline = time.monotonic() + 30
    while True:  # the live feed polls the store every 0.1 s
        text = client.get("/metrics", headers=tokens["auditor"]).text
        if _metric(text, "openlfr_face_to_alert_latency_seconds_count") >= len(alerts):
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    # The exported histogram holds exactly the stored measurements.
    assert _metric(text, "openlfr_face_to_alert_latency_seconds_count") == len(alerts)
    assert _metric(text, "openlfr_face_to_alert_latency_seconds_sum") == pytest.approx(
        sum(latencies), abs=1e-3
    )
    assert _metric(text, "openlfr_alert_push_latency_seconds_count") >= len(alerts)
    assert "# HELP openlfr_face_to_alert_latency_seconds Seconds from the capture" in text


def test_stop_from_the_page_ends_a_run_in_this_server(
    client: TestClient,
    tokens: dict[str, dict[str, str]],
    login: Callable[[str], str],
    deploy: Callable[[Path], int],
    long_clip: Path,
) -> None:
    dep_id = deploy(long_clip)
    csrf = login("supervisor")
    r = client.post(f"/deployments/{dep_id}/start", data={"csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    _wait(client, dep_id, "live", 60)
    assert "Stop" in client.get(f"/deployments/{dep_id}").text
    r = client.post(f"/deployments/{dep_id}/stop", data={"csrf_token": csrf},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    _wait(client, dep_id, "ended", 50)  # the runner polls every ~2 s; the clip lasts 60 s
    _, counters = _deployment(client, dep_id)
    assert [c.end_reason for c in counters] == ["stopped by supervisor"]
    assert counters[0].frames < 600  # ended by the stop, not by the clip's last frame
    events = _events(client, dep_id)
    assert events["deployment_stop_requested"] == "supervisor"
    assert events["deployment_stopped"] == "supervisor"
    # Stopping an ended deployment is refused with its rule.
    r = client.post(f"/api/deployments/{dep_id}/stop", headers=tokens["operator"])
    assert r.status_code == 422 and r.json()["rule"] == "R5"


@pytest.mark.slow
def test_stop_from_the_api_ends_a_separate_cli_process(
    client: TestClient,
    settings: Settings,
    tokens: dict[str, dict[str, str]],
    deploy: Callable[[Path], int],
    long_clip: Path,
) -> None:
    dep_id = deploy(long_clip)
    store = settings.store
    # The CLI acts under an account (issue 8): the operator's bearer token, as from
    # `openlfr login --print-token` or POST /api/token.
    token = tokens["operator"]["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, "OPENLFR_VIDEO__REALTIME": "true", "OPENLFR_TOKEN": token,
           "OPENLFR_STORE__DATA_DIR": str(store.data_dir), "COLUMNS": "200"}  # fmt: skip
    if store.database_url:
        env["OPENLFR_STORE__DATABASE_URL"] = store.database_url
    if store.key:
        env["OPENLFR_STORE__KEY"] = store.key
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlfr", "deployment", "run", str(dep_id)],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait(client, dep_id, "live", 90)
        r = client.post(f"/api/deployments/{dep_id}/stop", headers=tokens["supervisor"])
        assert r.status_code == 202, r.text  # was 409: "not running in this server"
        out, _ = proc.communicate(timeout=50)  # the runner polls every ~2 s; clip: 60 s
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "stopped by supervisor" in out
    dep, counters = _deployment(client, dep_id)
    assert dep.status == "ended" and dep.stop_requested_by == "supervisor"
    assert [c.end_reason for c in counters] == ["stopped by supervisor"]
    assert counters[0].frames < 600  # ended by the stop, not by the 600-frame clip
    events = _events(client, dep_id)
    assert events["deployment_stop_requested"] == "supervisor"
    assert events["deployment_stopped"] == "supervisor"
