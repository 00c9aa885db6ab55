"""The operator sees one alert with its sightings: the list (count, camera, time, score) and
each sighting's crop, for operators only, each an audited consultation; the live feed hands a
new sighting on as an update of the alert it joined, not as a new alert; purged crops are
refused (R10). The operator page carries the sightings panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from grouping_support import PEOPLE, Sinks, deployment, enrol, lfw, open_ctx
from sqlalchemy import select

from openlfr.api import create_app
from openlfr.config import StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.alert_feed import last_sighting_id, new_alerts, new_sightings
from openlfr.service.context import utcnow
from openlfr.service.retention import purge
from openlfr.store import models as m
from openlfr.vision.protocols import Detector, Embedder

PASSWORD = "correct horse battery"
G1 = PEOPLE[0][0]


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from openlfr.service import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def site(
    store_settings: StoreSettings, models: tuple[Detector, Embedder]
) -> Iterator[tuple[TestClient, Sinks]]:
    ctx = open_ctx(store_settings, models)
    enrol(ctx, [(ref, lfw(name)) for ref, name in PEOPLE])
    run = Sinks.of(ctx, deployment(ctx, "Op View"))
    for role in ("operator", "auditor"):
        create_account(ctx.store, username=role, password=PASSWORD, role=role,
                       display_name=role, created_by="test")  # fmt: skip
    app = create_app(ctx.settings)
    with TestClient(app, base_url="http://testserver") as client:
        yield client, run
    app.state.svc.store.dispose()
    ctx.close()


def _token(client: TestClient, role: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": role, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _events(run: Sinks, event: str) -> list[m.AuditEntry]:
    with run.ctx.store.session() as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))
        s.expunge_all()
        return rows


def test_operator_sees_one_alert_with_its_sightings(site: tuple[TestClient, Sinks]) -> None:
    client, run = site
    op, aud = _token(client, "operator"), _token(client, "auditor")
    run.raise_(0, 1, G1, 0.71)
    after = last_sighting_id(run.ctx.store)
    run.raise_(1, 2, G1, 0.78, shade=40)

    queue = client.get("/api/alerts?status=pending", headers=op).json()
    assert len(queue) == 1  # one alert, not two
    alert_id = queue[0]["id"]
    got = client.get(f"/api/alerts/{alert_id}/sightings", headers=op)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["count"] == 2
    first, second = body["sightings"]
    assert (first["camera"], second["camera"]) == ("cam1", "cam2")
    assert (first["score"], second["score"]) == (0.71, 0.78)
    assert first["first"] and not second["first"] and second["crop_held"]

    crop = client.get(second["crop_url"], headers=op)
    assert crop.status_code == 200 and crop.headers["content-type"] == "image/jpeg"
    assert crop.content.startswith(b"\xff\xd8")
    probe = client.get(f"/api/alerts/{alert_id}/probe.jpg", headers=op).content
    assert client.get(first["crop_url"], headers=op).content == probe  # the first is the probe
    assert crop.content != probe
    viewed = _events(run, "alert_sighting_viewed")
    assert [int(e.object_id) for e in viewed] == [second["id"], first["id"]]
    assert all(e.actor == "operator" and e.action == "consultation" for e in viewed)
    assert _events(run, "alert_sightings_listed")

    # Only operators see faces: an auditor is refused both, and nothing is shown.
    assert client.get(f"/api/alerts/{alert_id}/sightings", headers=aud).status_code == 403
    assert client.get(second["crop_url"], headers=aud).status_code == 403
    # A sighting of another alert is not reachable through this one.
    run.raise_(0, 3, PEOPLE[1][0])
    other = client.get("/api/alerts?status=pending", headers=op).json()[-1]["id"]
    assert (
        client.get(f"/api/alerts/{other}/sightings/{second['id']}.jpg", headers=op).status_code
        == 422
    )

    # The live feed: the second sighting is an update of the alert already pushed.
    updates, last = new_sightings(run.ctx.store, after)
    assert [(u["id"], u["sightings"], u["camera"]) for u in updates] == [(alert_id, 2, "cam2")]
    assert new_sightings(run.ctx.store, last) == ([], last)
    pushed = new_alerts(run.ctx.store, 0, ["operator"]).payloads
    assert [(p["id"], p["sightings"]) for p in pushed] == [(alert_id, 2), (other, 1)]


def test_purged_sightings_are_refused(site: tuple[TestClient, Sinks]) -> None:
    client, run = site
    op = _token(client, "operator")
    run.raise_(0, 1, G1)
    run.raise_(1, 2, G1)
    [alert] = run.alerts()
    days = run.ctx.settings.governance.alert_retention_days + 1
    purge(run.ctx, now=utcnow() + timedelta(days=days))
    body = client.get(f"/api/alerts/{alert.id}/sightings", headers=op).json()
    assert body["count"] == 2 and not any(v["crop_held"] for v in body["sightings"])
    sid = body["sightings"][1]["id"]
    r = client.get(f"/api/alerts/{alert.id}/sightings/{sid}.jpg", headers=op)
    assert r.status_code == 422 and "R10" in r.text
    assert _events(run, "consultation_refused")


def test_operator_page_has_the_sightings_panel(site: tuple[TestClient, Sinks]) -> None:
    client, _ = site
    page = client.get("/login")
    csrf = client.cookies.get("openlfr_login_csrf")
    assert csrf
    r = client.post("/login", data={"username": "operator", "password": PASSWORD,
                                    "csrf_token": csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, page.text
    html = client.get("/operator").text
    assert 'id="sightings"' in html and 'id="s-list"' in html
    js = client.get("/static/operator.js").text
    assert "/sightings" in js and 'msg.type === "sighting"' in js
