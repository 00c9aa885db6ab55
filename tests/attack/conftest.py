"""Attack fixtures: the real app on a real SQLite store, one account per role, every kind of
bad credential, and a seeded world (subject, frozen watchlist, live and draft deployments, an
alert) so that every route has something real to act on.

SQLite only: these tests are about what the app lets through, which does not depend on the
backend (the store tests cover both); one backend keeps the directory within its time budget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings, WebSettings
from openlfr.service.accounts import create_account
from openlfr.store import Store
from openlfr.store import models as m
from openlfr.store.models import utcnow
from openlfr.store.models_accounts import Role, WebSession

PASSWORD = "correct horse battery staple"
#: Every role an account can hold, and the names of the bad credentials tried beside them.
ROLES = [r.value for r in Role]
BAD_CREDENTIALS = ["none", "forged", "expired", "revoked"]


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters for tests only (tests/security runs the production ones)."""
    from argon2 import PasswordHasher

    from openlfr.service import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


def jpeg(shade: int, size: int = 112) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((size, size, 3), shade, np.uint8))
    assert ok
    return buf.tobytes()


@dataclass
class World:
    client: TestClient
    store: Store
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # identity -> headers
    ids: dict[str, int] = field(default_factory=dict)

    def identity(self, name: str) -> dict[str, str]:
        return dict(self.headers[name])


def _seed(store: Store) -> dict[str, int]:
    with store.session() as s:
        subj = m.Subject(
            reference="SUBJ-ATTACK-1", display_name="Attack Subject", category="suspect"
        )
        s.add(subj)
        s.flush()
        img = m.ReferenceImage(
            subject_id=subj.id, source_ref="CUST-1", lawful_basis="PACE s64A",
            case_outcome="charged", age_at_capture=30, image_sha256="0" * 64,
            embedding_model="sface",
        )  # fmt: skip
        store.seal(s, img, image_blob=jpeg(160), embedding_blob=np.zeros(128, np.float32).tobytes())
        wl = m.Watchlist(name="WL", created_by="test", frozen=True, member_hash="a" * 64)
        s.add(wl)
        s.flush()
        s.add(m.WatchlistEntry(watchlist_id=wl.id, subject_id=subj.id, reference_image_id=img.id,
                               category="suspect"))  # fmt: skip
        now = utcnow()
        common = dict(purpose="find a suspect", location="High St", location_reason="seen there",
                      watchlist_id=wl.id, threshold=0.5, created_by="supervisor")  # fmt: skip
        live = m.Deployment(name="Op Live", start_at=now - timedelta(hours=1),
                            end_at=now + timedelta(hours=1), status="live", started_at=now,
                            **common)  # fmt: skip
        draft = m.Deployment(name="Op Draft", start_at=now + timedelta(hours=1),
                             end_at=now + timedelta(hours=3), status="draft", **common)  # fmt: skip
        s.add_all([live, draft])
        s.flush()
        cam = m.Camera(deployment_id=live.id, name="cam1", source="/dev/null")
        s.add_all([cam, m.Camera(deployment_id=draft.id, name="cam1", source="/dev/null")])
        s.flush()
        alert = m.Alert(deployment_id=live.id, camera_id=cam.id, track_id=1, subject_id=subj.id,
                        reference_image_id=img.id, score=0.71, margin=0.3, first_frame=10,
                        last_frame=20)  # fmt: skip
        store.seal(s, alert, probe_crop_blob=jpeg(90))
        return {"subject": subj.id, "image": img.id, "watchlist": wl.id, "live": live.id,
                "draft": draft.id, "camera": cam.id, "alert": alert.id}  # fmt: skip


def _token(client: TestClient, username: str) -> str:
    r = client.post("/api/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def attack_settings(store_settings: StoreSettings) -> Settings:
    # Generous limits: the fuzzers log in many times and must not be rate-limited into 429s.
    web = WebSettings(login_max_failures=10_000, login_max_failures_per_ip=10_000,
                      alert_poll_s=0.2)  # fmt: skip
    return Settings().model_copy(update={"store": store_settings, "web": web})


@pytest.fixture
def world(attack_settings: Settings) -> Iterator[World]:
    """The app, an account per role (one more per role for the expired and revoked tokens),
    and headers for every identity: each role's live token, none, forged, expired, revoked."""
    app = create_app(attack_settings)
    store: Store = app.state.svc.store
    for role in ROLES:
        rank = "superintendent" if role == Role.AUTHORISING_OFFICER.value else None
        create_account(store, username=role, password=PASSWORD, role=role,
                       display_name=f"{role.title()} Person", rank=rank,
                       created_by="test")  # fmt: skip
    with TestClient(app, base_url="http://testserver") as client:
        w = World(client, store, ids=_seed(store))
        for role in ROLES:
            w.headers[role] = bearer(_token(client, role))
        w.headers["none"] = {}
        # A well-formed token that was never issued.
        w.headers["forged"] = bearer(hashlib.sha256(b"forged").hexdigest())
        expired = _token(client, Role.ADMIN.value)
        with store.session() as s:
            digest = hashlib.sha256(expired.encode()).hexdigest()
            found = s.scalar(select(WebSession.id).where(WebSession.token_sha256 == digest))
            assert found is not None, "tokens are no longer stored as their SHA-256"
            s.execute(update(WebSession).where(WebSession.id == found)
                      .values(expires_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
        w.headers["expired"] = bearer(expired)
        revoked = _token(client, Role.ADMIN.value)
        r = client.post("/api/token/revoke", headers=bearer(revoked))
        assert r.status_code == 204, r.text
        w.headers["revoked"] = bearer(revoked)
        yield w
    store.dispose()


def table_counts(store: Store) -> dict[str, int]:
    """Rows per table: what a refused act must leave exactly as it was (bar the audit log and
    the sessions, which record the refusal and the log-ins)."""
    from sqlalchemy import func

    out = {}
    with store.session() as s:
        for name, table in m.Base.metadata.tables.items():
            out[name] = int(s.scalar(select(func.count()).select_from(table)) or 0)
    return out


def tmp_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
