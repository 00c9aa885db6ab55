"""Use-cases through the API: draft → refused and accepted authorisation; a new alert pushed over
the WebSocket; audited image views; decision and outcome reaching the public report; exceptional
reasons approved only by a second supervisor; `openlfr user` accounts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from suite import SHARED_DATA
from typer.testing import CliRunner

from openlfr.service.accounts import create_account
from openlfr.store import models as m

#: Drafting probes sources (issue 8): a camera must be a video that decodes.
CLIP = str(SHARED_DATA / "video" / "WDA_KatieHill_000.mp4")
LFW = SHARED_DATA / "lfw" / "images"
PASSWORD = "correct horse battery"
SUBJECT_REF = "SUBJ-SECRET-0042"
pytestmark = pytest.mark.usefixtures("shared_data")


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _audit_count(client: TestClient, **where: str) -> int:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        q = select(func.count(m.AuditEntry.id))
        for k, v in where.items():
            q = q.where(getattr(m.AuditEntry, k) == v)
        return int(s.scalar(q) or 0)


def test_draft_then_authorise_with_every_rule_shown(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    create_account(store, username="insp", password=PASSWORD, role="authorising_officer",
                   rank="inspector", display_name="I Low", created_by="t")  # fmt: skip
    draft = {
        "name": "Op Draft", "purpose": "locate a suspect", "location": "Market Sq",
        "location_reason": "sightings", "watchlist_id": seeded.watchlist_id,
        "cameras": [f"north={CLIP}"], "hours": 2, "equality_note": "reviewed",
    }  # fmt: skip
    r = client.post("/api/deployments", json=draft, headers=tokens["supervisor"])
    assert r.status_code == 201, r.text
    dep_id = r.json()["id"]
    url = f"/api/deployments/{dep_id}/authorise"
    body = {"reasons": "necessary: a violent suspect seen twice this week", "conditions": ""}
    r = client.post(url, json=body, headers=_bearer(client, "insp"))
    assert r.status_code == 422
    assert any(v["rule"] == "R5" and "inspector" in v["message"] for v in r.json()["violations"])
    # Reasons are required: blank ones are refused, naming them.
    blank = client.post(url, json={"reasons": "  "}, headers=tokens["authorising_officer"])
    assert blank.status_code == 422 and "reasons" in blank.text
    body["conditions"] = "stop if the crowd exceeds 2,000"
    r = client.post(url, json=body, headers=tokens["authorising_officer"])
    assert r.status_code == 200, r.text
    dep = next(
        d
        for d in client.get("/api/deployments", headers=tokens["auditor"]).json()
        if d["id"] == dep_id
    )
    # The name and rank come from the account, not from anything the request said.
    assert dep["status"] == "authorised" and dep["authorised_by"] == "Authorising_Officer Person"
    assert dep["authoriser_rank"] == "superintendent"


def test_new_alert_is_pushed_and_reviewed(
    client: TestClient,
    login: Callable[[str], str],
    add_alert: Callable[[], int],
    tokens: dict[str, dict[str, str]],
    seeded: Any,
) -> None:
    csrf = login("operator")
    with client.websocket_connect("/ws/alerts") as ws:
        assert ws.receive_json()["type"] == "health"
        alert_id = add_alert()  # as a separate `openlfr deployment run` process would
        deadline = time.monotonic() + 30
        pushed: dict[str, Any] = {}
        while not pushed:  # (the seeded alert may come too: it was raised after start-up)
            msg = ws.receive_json()
            if msg["type"] == "alerts":
                pushed = next((a for a in msg["alerts"] if a["id"] == alert_id), {})
            assert time.monotonic() < deadline
    assert (
        pushed["id"] == alert_id and pushed["category"] == "suspect" and pushed["camera"] == "cam1"
    )
    assert "probe" not in str(pushed)  # images are fetched apart, each view audited
    assert _audit_count(client, event="alert_pushed", actor="operator") >= 1

    before = _audit_count(
        client, action="consultation", object_type="alert", object_id=str(alert_id)
    )
    for which in ("probe", "reference"):
        r = client.get(f"/api/alerts/{alert_id}/{which}.jpg")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert r.content[:2] == b"\xff\xd8" and r.headers["cache-control"] == "no-store"
    after = _audit_count(
        client, action="consultation", object_type="alert", object_id=str(alert_id)
    )
    assert after == before + 2

    h = {"X-CSRF-Token": csrf}
    assert (
        client.post(
            f"/api/alerts/{alert_id}/adjudicate",
            json={"decision": "confirmed", "reason": "same scar"},
            headers=h,
        ).status_code
        == 200
    )
    for outcome in ("arrested", "charged_or_cautioned"):
        r = client.post(f"/api/alerts/{alert_id}/outcome", json={"outcome": outcome}, headers=h)
        assert r.status_code == 200, r.text
    report = client.get("/public/report.json").json()
    assert report["totals"]["confirmed"] == 1 and report["totals"]["arrests"] == 1
    assert SUBJECT_REF not in str(report)

    metrics = client.get("/metrics", headers=tokens["auditor"]).text
    # Two alerts were raised after the app started: the seeded one and this one.
    assert "openlfr_alerts_total 2.0" in metrics
    assert "openlfr_alert_push_latency_seconds_count 2.0" in metrics
    # A later poll of the store refreshes the queue depth: the seeded alert is still pending.
    deadline = time.monotonic() + 30
    while "openlfr_alert_queue_depth 1.0" not in metrics:
        assert time.monotonic() < deadline, metrics
        time.sleep(0.05)
        metrics = client.get("/metrics", headers=tokens["auditor"]).text


def test_exceptional_reason_needs_a_second_supervisor(client: TestClient) -> None:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    create_account(store, username="sup2", password=PASSWORD, role="supervisor", created_by="t")
    first, second = _bearer(client, "supervisor"), _bearer(client, "sup2")
    image = (LFW / "AJ_Cook" / "AJ_Cook_0001.jpg").read_bytes()
    form = {
        "subject_reference": "NFA-1", "category": "missing_vulnerable", "source_ref": "CUST-9",
        "lawful_basis": "PACE s64A", "case_outcome": "no_further_action", "age_at_capture": "30",
        "reason": "missing person at risk; this is the only image",
    }  # fmt: skip
    r = client.post(
        "/api/exceptional",
        data=form,
        files={"image": ("a.jpg", image, "image/jpeg")},
        headers=first,
    )
    assert r.status_code == 201, r.text
    req_id = r.json()["id"]
    r = client.post(f"/api/exceptional/{req_id}/approve", headers=first)
    assert r.status_code == 422 and r.json()["rule"] == "R3" and "other than" in r.json()["detail"]
    r = client.post(f"/api/exceptional/{req_id}/approve", headers=second)
    assert r.status_code == 200, r.text
    subjects = {s["reference"]: s for s in client.get("/api/subjects", headers=second).json()}
    (decision,) = subjects["NFA-1"]["images"]
    assert decision["eligible"] and "approved by sup2" in decision["reason"]
    held = {q["id"]: q for q in client.get("/api/exceptional", headers=second).json()}[req_id]
    assert held["status"] == "approved" and held["decided_by"] == "sup2"
    with store.session() as s:
        from openlfr.store.models_accounts import ExceptionalRequest

        row = s.get(ExceptionalRequest, req_id)
        assert row is not None and row.image_blob == b""  # the held copy is wiped


def test_cli_user_accounts(tmp_path: Path, monkeypatch: Any) -> None:
    from openlfr.cli import app

    monkeypatch.setenv("OPENLFR_CONFIG_DIR", str(tmp_path / "config"))  # the login's token
    monkeypatch.delenv("OPENLFR_TOKEN", raising=False)
    runner = CliRunner()
    base = ["--store-dir", str(tmp_path / "store"), "user"]
    for name in ("boss", "boss2"):  # the first two admins need no login
        r = runner.invoke(
            app, [*base, "create-admin", name, "--password-stdin"], input=PASSWORD + "\n"
        )
        assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, [*base, "create-admin", "boss3", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert r.exit_code == 2 and "already has 2 administrators" in r.output
    r = runner.invoke(
        app, [base[0], base[1], "login", "boss", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            *base,
            "add",
            "ao",
            "--role",
            "authorising_officer",
            "--reason",
            "posted",
            "--password-stdin",
        ],
        input=PASSWORD + "\n",
    )
    assert r.exit_code == 2 and "rank" in r.output
    r = runner.invoke(
        app,
        [*base, "add", "op", "--role", "operator", "--reason", "joined", "--password-stdin"],
        input="short\n",
    )
    assert r.exit_code == 2 and "12 characters" in r.output
