"""Separation of duties through the API: the admin and authorising-officer roles and any rank
take effect only once a second administrator approves; an administrator never approves their
own request, never changes their own role, never resets their own password without the old
one, and never sees a face or authorises. Every change is in the audit log with its reason."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openlfr.service.accounts import create_first_admin
from openlfr.store import models as m
from openlfr.store.models_accounts import Account, AccountGrant

PASSWORD = "correct horse battery"


def _token(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/api/token", json={"username": username, "password": password})


def _bearer(client: TestClient, username: str) -> dict[str, str]:
    r = _token(client, username)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _events(client: TestClient, event: str) -> list[m.AuditEntry]:
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))


@pytest.fixture
def second_admin(client: TestClient) -> dict[str, str]:
    """A second administrator (the fixture's store has one: `admin`), as create-admin makes."""
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    create_first_admin(store, username="admin2", password=PASSWORD, created_by="test")
    return _bearer(client, "admin2")


def test_a_new_authorising_officer_waits_for_a_second_admin(
    client: TestClient, tokens: dict[str, dict[str, str]], second_admin: dict[str, str]
) -> None:
    admin = tokens["admin"]
    body = {"username": "insp.b", "password": PASSWORD, "role": "authorising_officer",
            "rank": "superintendent", "reason": "newly posted to the unit"}  # fmt: skip
    r = client.post("/api/users", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["pending"] is True, r.text
    # Cannot log in yet (two tries only: the limiter locks the account after three).
    assert _token(client, "insp.b").status_code == 401
    # Enabling does not bypass the approval.
    r = client.post("/api/users/insp.b/enable", json={"reason": "try"}, headers=admin)
    assert r.status_code == 200 and _token(client, "insp.b").status_code == 401
    grants = client.get("/api/users/grants", headers=admin).json()
    assert [(g["username"], g["role"], g["rank"], g["requested_by"]) for g in grants] == [
        ("insp.b", "authorising_officer", "superintendent", "admin")
    ]
    r = client.post("/api/users/insp.b/approve", json={"reason": "mine"}, headers=admin)
    assert r.status_code == 400 and "other than the one who asked" in r.json()["detail"]
    assert len(client.get("/api/users/grants", headers=admin).json()) == 1  # still waiting

    r = client.post("/api/users/insp.b/approve", json={"reason": "checked the posting order"},
                    headers=second_admin)  # fmt: skip
    assert r.status_code == 200 and r.json()["grant"] == "approved", r.text
    who = client.get("/api/me", headers=_bearer(client, "insp.b")).json()
    assert (who["role"], who["rank"]) == ("authorising_officer", "superintendent")
    assert client.get("/api/users/grants", headers=admin).json() == []
    (asked,) = [e for e in _events(client, "account_created") if "insp.b" in e.justification]
    assert asked.actor == "admin" and "newly posted" in asked.justification
    (approved,) = _events(client, "account_grant_approved")
    assert approved.actor == "admin2" and "checked the posting order" in approved.justification


def test_an_operator_account_needs_no_second_admin_but_a_rank_does(
    client: TestClient, tokens: dict[str, dict[str, str]], second_admin: dict[str, str]
) -> None:
    admin = tokens["admin"]
    r = client.post("/api/users", json={"username": "pc.new", "password": PASSWORD,
                    "role": "operator", "reason": "joined"}, headers=admin)  # fmt: skip
    assert r.status_code == 201 and r.json()["pending"] is False
    assert _token(client, "pc.new").status_code == 200
    # A promotion of the existing officer: the old rank stands until a second admin approves.
    r = client.post("/api/users/authorising_officer/grant", headers=admin,
                    json={"role": "authorising_officer", "rank": "chief_constable",
                          "reason": "promoted"})  # fmt: skip
    assert r.status_code == 200 and r.json()["pending"] is True
    assert client.get("/api/me", headers=tokens["authorising_officer"]).json()["rank"] == (
        "superintendent"
    )
    r = client.post("/api/users/authorising_officer/reject", json={"reason": "no order seen"},
                    headers=second_admin)  # fmt: skip
    assert r.status_code == 200 and r.json()["grant"] == "rejected"
    assert client.get("/api/me", headers=tokens["authorising_officer"]).json()["rank"] == (
        "superintendent"
    )
    store = client.app.state.svc.store  # type: ignore[attr-defined]
    with store.session() as s:
        statuses = list(s.scalars(select(AccountGrant.status)))
    assert statuses == ["rejected"]


def test_an_admin_cannot_make_themselves_anything_else(
    client: TestClient, tokens: dict[str, dict[str, str]], second_admin: dict[str, str]
) -> None:
    admin = tokens["admin"]
    r = client.post("/api/users/admin/grant", headers=admin,
                    json={"role": "authorising_officer", "rank": "superintendent",
                          "reason": "covering"})  # fmt: skip
    assert r.status_code == 400 and "your own role" in r.json()["detail"]
    # Nor approve a grant to themselves that another admin asked for.
    r = client.post("/api/users/admin/grant", headers=second_admin,
                    json={"role": "authorising_officer", "rank": "inspector",
                          "reason": "covering"})  # fmt: skip
    assert r.status_code == 200 and r.json()["pending"] is True
    r = client.post("/api/users/admin/approve", json={"reason": "ok"}, headers=admin)
    assert r.status_code == 400 and "your own account" in r.json()["detail"]
    assert client.get("/api/me", headers=admin).json()["role"] == "admin"


def test_an_admin_resets_their_own_password_only_with_the_old_one(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    admin = tokens["admin"]
    new = "a brand new passphrase"
    for old in (None, "not the old one"):
        body = {"password": new, "reason": "rotate", "old_password": old}
        r = client.post("/api/users/admin/password", headers=admin, json=body)
        assert r.status_code == 400 and "old password" in r.json()["detail"]
    assert _token(client, "admin", new).status_code == 401
    assert not _events(client, "password_reset")
    body = {"password": new, "reason": "rotate", "old_password": PASSWORD}
    r = client.post("/api/users/admin/password", headers=admin, json=body)
    assert r.status_code == 200
    assert _token(client, "admin", new).status_code == 200
    (entry,) = _events(client, "password_reset")
    assert entry.actor == "admin" and "rotate" in entry.justification


def test_an_admin_never_resets_another_admins_password(
    client: TestClient, tokens: dict[str, dict[str, str]], second_admin: dict[str, str]
) -> None:
    """Else one admin could log in as the other and approve their own grants."""
    r = client.post("/api/users/admin2/password", headers=tokens["admin"],
                    json={"password": "a brand new passphrase", "reason": "forgot"})  # fmt: skip
    assert r.status_code == 400 and "changed only by its holder" in r.json()["detail"]
    assert client.get("/api/me", headers=second_admin).status_code == 200  # session stands
    assert not _events(client, "password_reset")


def test_an_admin_sees_no_face_and_authorises_nothing(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    admin = tokens["admin"]
    for path in (
        f"/api/alerts/{seeded.alert_id}/probe.jpg",
        f"/api/alerts/{seeded.alert_id}/reference.jpg",
        "/api/alerts",
        "/api/subjects",
    ):
        assert client.get(path, headers=admin).status_code == 403, path  # fmt: skip
    r = client.post(f"/api/deployments/{seeded.deployment_id}/authorise",
                    json={"reasons": "r"}, headers=admin)  # fmt: skip
    assert r.status_code == 403


def test_a_pending_admin_counts_towards_the_first_two(client: TestClient) -> None:
    """create-admin is for the first two administrator accounts, in any state: an admin asked
    for and not yet approved cannot be doubled by a bootstrap one."""
    from openlfr.service.accounts import AccountError, add_account

    store = client.app.state.svc.store  # type: ignore[attr-defined]
    _, pending = add_account(store, actor="admin", username="admin2", password=PASSWORD,
                             role="admin", reason="second administrator")  # fmt: skip
    assert pending
    with pytest.raises(AccountError, match="already has 2 administrators"):
        create_first_admin(store, username="admin3", password=PASSWORD, created_by="test")
    with store.session() as s:
        assert s.scalar(select(Account.id).where(Account.username == "admin3")) is None


@pytest.mark.parametrize(
    ("role", "rank", "needs"),
    [
        ("admin", None, True),
        ("authorising_officer", "inspector", True),
        ("authorising_officer", None, True),
        ("operator", None, False),
        ("supervisor", None, False),
        ("auditor", None, False),
        ("supervisor", "sergeant", True),  # any rank: it decides what can be authorised (R7)
        ("operator", "  ", False),  # blank is no rank
    ],
)
def test_which_grants_need_a_second_admin(role: str, rank: str | None, needs: bool) -> None:
    from openlfr.domain.duties import needs_second_admin

    assert needs_second_admin(role, rank) is needs
