"""Account administration: an admin disables an account (its page session, API token and open
alert feed stop at once) or resets its password (every old session ends); each change is in the
audit log with its reason, never with the password."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.websockets import WebSocketDisconnect

from openlfr.store import models as m

PASSWORD = "correct horse battery"


def _audit(client: TestClient, event: str) -> list[m.AuditEntry]:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))


@pytest.mark.slow
def test_disable_stops_sessions_tokens_and_feed_at_once(
    client: TestClient, tokens: dict[str, dict[str, str]], login: Callable[[str], str]
) -> None:
    admin, operator = tokens["admin"], tokens["operator"]
    login("operator")  # the client's cookie jar now holds an operator's page session
    assert client.get("/operator").status_code == 200
    with client.websocket_connect("/ws/alerts") as ws:
        assert ws.receive_json()["type"] == "health"
        r = client.post(
            "/api/users/operator/disable", json={"reason": "left the unit"}, headers=admin
        )
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30  # generous: the feed checks sessions as it polls
        with pytest.raises(WebSocketDisconnect) as closed:
            while time.monotonic() < deadline:  # health messages until the feed is cut
                ws.receive_json()
        assert closed.value.code == 4401
    assert client.get("/api/me", headers=operator).status_code == 401
    assert client.get("/operator", follow_redirects=False).status_code == 303  # to /login
    r = client.post("/api/token", json={"username": "operator", "password": PASSWORD})
    assert r.status_code == 401
    users = {u["username"]: u for u in client.get("/api/users", headers=admin).json()}
    assert users["operator"]["disabled"] is True
    (entry,) = _audit(client, "account_disabled")
    assert entry.actor == "admin" and "left the unit" in entry.justification

    r = client.post("/api/users/operator/enable", json={"reason": "returned"}, headers=admin)
    assert r.status_code == 200
    assert client.get("/api/me", headers=operator).status_code == 401  # old token stays dead
    r = client.post("/api/token", json={"username": "operator", "password": PASSWORD})
    assert r.status_code == 200
    assert _audit(client, "account_enabled")


def test_reset_password_ends_every_session(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    admin, old = tokens["admin"], tokens["supervisor"]
    new_password = "a new long passphrase"
    r = client.post(
        "/api/users/supervisor/password",
        json={"password": "short", "reason": "forgotten"},
        headers=admin,
    )
    assert r.status_code == 400 and "12 characters" in r.json()["detail"]
    r = client.post(
        "/api/users/supervisor/password",
        json={"password": new_password, "reason": "password seen by a colleague"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/me", headers=old).status_code == 401
    assert (
        client.post("/api/token", json={"username": "supervisor", "password": PASSWORD})
    ).status_code == 401
    r = client.post("/api/token", json={"username": "supervisor", "password": new_password})
    assert r.status_code == 200
    (entry,) = _audit(client, "password_reset")
    assert entry.actor == "admin" and "seen by a colleague" in entry.justification
    assert new_password not in entry.justification and new_password not in (entry.detail or "")


def test_admin_page_forms_are_csrf_protected_and_refuse_self_lockout(
    client: TestClient, tokens: dict[str, dict[str, str]], login: Callable[[str], str]
) -> None:
    csrf = login("admin")
    page = client.get("/admin/users")
    assert 'action="/admin/users/operator/disable"' in page.text
    assert 'action="/admin/users/admin/disable"' not in page.text  # no button to lock oneself out
    r = client.post(
        "/admin/users/operator/disable", data={"reason": "suspended"}, follow_redirects=False
    )
    assert r.status_code == 403  # no CSRF token: a forged form from another site
    assert client.get("/api/me", headers=tokens["operator"]).status_code == 200
    r = client.post(
        "/admin/users/operator/disable",
        data={"reason": "suspended", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/me", headers=tokens["operator"]).status_code == 401
    r = client.post(
        "/admin/users/admin/disable",
        data={"reason": "oops", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 422 and "your own account" in r.text  # the page again, with why
    r = client.post(
        "/admin/users/auditor/password",
        data={"password": "another long passphrase", "reason": "reset", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.get("/api/me", headers=tokens["auditor"]).status_code == 401
    # Only an admin may do any of this.
    r = client.post(
        "/api/users/auditor/disable", json={"reason": "x"}, headers=tokens["supervisor"]
    )
    assert r.status_code == 403
