"""API fixtures: the real app on the test's store (the root `store_settings`: a SQLite file, and
PostgreSQL in a schema of its own); one account per role; a seeded alert (rows written
through the store, no video needed) so that every route has something to act on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings, WebSettings
from openlfr.service.accounts import create_account
from openlfr.store import Store
from openlfr.store import models as m
from openlfr.store.models import utcnow

PASSWORD = "correct horse battery"
ROLES = ["operator", "supervisor", "authorising_officer", "auditor", "admin"]
SUBJECT_REF = "SUBJ-SECRET-0042"


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for tests only: the production ones cost ~0.3 s per hash here
    (tests/security/test_production_argon2.py runs the production parameters)."""
    from argon2 import PasswordHasher

    from openlfr.service import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def settings(store_settings: StoreSettings) -> Settings:
    web = WebSettings(login_max_failures=3, login_max_failures_per_ip=8, alert_poll_s=0.1)
    return Settings().model_copy(update={"store": store_settings, "web": web})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings)
    store: Store = app.state.svc.store
    for role in ROLES:
        create_account(
            store,
            username=role,
            password=PASSWORD,
            role=role,
            display_name=f"{role.title()} Person",
            rank="superintendent" if role == "authorising_officer" else None,
            created_by="test",
        )
    with TestClient(app, base_url="http://testserver") as c:
        yield c
    store.dispose()


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.svc.store  # type: ignore[attr-defined]
    return store


@pytest.fixture
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per role (bearer tokens from POST /api/token)."""
    out = {}
    for role in ROLES:
        r = client.post("/api/token", json={"username": role, "password": PASSWORD})
        assert r.status_code == 200, r.text
        out[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


def _jpeg(shade: int) -> bytes:
    img = np.full((112, 112, 3), shade, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    return buf.tobytes()


@dataclass
class Seeded:
    deployment_id: int
    watchlist_id: int
    alert_id: int
    camera_id: int


def seed_alert(
    store: Store, deployment_id: int, camera_id: int, subject_id: int, ref_id: int
) -> int:
    with store.session() as s:
        alert = m.Alert(
            deployment_id=deployment_id,
            camera_id=camera_id,
            track_id=1,
            subject_id=subject_id,
            reference_image_id=ref_id,
            score=0.71,
            margin=0.3,
            first_frame=10,
            last_frame=20,
        )
        store.seal(s, alert, probe_crop_blob=_jpeg(90))
        return alert.id


@pytest.fixture
def seeded(client: TestClient) -> Seeded:
    """A subject with one image, a frozen watchlist, a live deployment, a camera, an alert."""
    store = store_of(client)
    with store.session() as s:
        subj = m.Subject(reference=SUBJECT_REF, display_name="Secret Name", category="suspect")
        s.add(subj)
        s.flush()
        img = m.ReferenceImage(
            subject_id=subj.id,
            source_ref="CUST-1",
            lawful_basis="PACE s64A",
            case_outcome="charged",
            age_at_capture=30,
            image_sha256="0" * 64,
            embedding_model="sface",
        )
        store.seal(
            s, img, image_blob=_jpeg(160), embedding_blob=np.zeros(128, np.float32).tobytes()
        )
        wl = m.Watchlist(name="WL", created_by="test", frozen=True, member_hash="a" * 64)
        s.add(wl)
        s.flush()
        s.add(
            m.WatchlistEntry(
                watchlist_id=wl.id,
                subject_id=subj.id,
                reference_image_id=img.id,
                category="suspect",
            )
        )
        now = utcnow()
        dep = m.Deployment(
            name="Op Seed", purpose="find a suspect", location="High St", location_reason="seen",
            start_at=now - timedelta(hours=1), end_at=now + timedelta(hours=1), watchlist_id=wl.id,
            threshold=0.5, status="live", created_by="test", started_at=now,
        )  # fmt: skip
        s.add(dep)
        s.flush()
        cam = m.Camera(deployment_id=dep.id, name="cam1", source="/dev/null")
        s.add(cam)
        s.flush()
        ids = dep.id, wl.id, cam.id, subj.id, img.id
    alert_id = seed_alert(store, ids[0], ids[2], ids[3], ids[4])
    return Seeded(ids[0], ids[1], alert_id, ids[2])


@pytest.fixture
def login(client: TestClient) -> Callable[[str], str]:
    return lambda role: cookie_login(client, role)


@pytest.fixture
def add_alert(client: TestClient, seeded: Seeded) -> Callable[[], int]:
    """Raises one more alert in the seeded deployment, as a runner would."""
    store = store_of(client)
    with store.session() as s:
        alert = s.get(m.Alert, seeded.alert_id)
        assert alert is not None
        subject_id, ref_id = alert.subject_id, alert.reference_image_id
    return lambda: seed_alert(store, seeded.deployment_id, seeded.camera_id, subject_id, ref_id)


def cookie_login(client: TestClient, role: str) -> str:
    """Logs in through the page form; returns the session's CSRF token (from the page meta)."""
    page = client.get("/login")
    csrf = client.cookies.get("openlfr_login_csrf")
    assert csrf and csrf in page.text
    r = client.post(
        "/login",
        data={"username": role, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get(r.headers["location"])
    assert home.status_code == 200
    marker = '<meta name="csrf-token" content="'
    start = home.text.index(marker) + len(marker)
    return home.text[start : home.text.index('"', start)]
