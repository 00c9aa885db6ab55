"""The log-in limiter holds across server processes (issue 9): two app instances, each with its
own connection pool on one store (as two uvicorn workers or two `openlfr serve` would be),
share one count of failures, so a second process does not hand an attacker a second limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from openlfr.api import create_app
from openlfr.config import Settings, StoreSettings
from openlfr.service.accounts import create_account
from openlfr.service.sessions import login_failures_kept
from openlfr.store import open_store
from openlfr.store.models_accounts import LoginFailure

PASSWORD = "correct horse battery staple"
LIMIT = 3


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    from argon2 import PasswordHasher

    from openlfr.service import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def two_apps(store_settings: StoreSettings) -> Iterator[tuple[TestClient, TestClient]]:
    store = open_store(store_settings)
    for name in ("officer", "other"):
        create_account(store, username=name, password=PASSWORD, role="operator",
                       display_name=name, rank=None, created_by="test")  # fmt: skip
    store.dispose()
    base = Settings()
    web = base.web.model_copy(
        update={"login_max_failures": LIMIT, "login_max_failures_per_ip": 100}
    )
    settings = base.model_copy(update={"store": store_settings, "web": web})
    # No store handed in: each app opens its own, exactly as a separate process would.
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield a, b


def _login(client: TestClient, username: str, password: str) -> int:
    r = client.post("/api/token", json={"username": username, "password": password})
    return r.status_code


def test_failures_in_one_process_lock_the_account_in_another(
    two_apps: tuple[TestClient, TestClient], store_settings: StoreSettings
) -> None:
    a, b = two_apps
    # Spread over both processes: neither alone has seen the limit.
    codes = [_login(a, "officer", "wrong"), _login(b, "officer", "wrong"),
             _login(a, "Officer ", "wrong")]  # fmt: skip
    assert codes == [401] * LIMIT
    assert _login(b, "officer", PASSWORD) == 429  # locked everywhere, even the right password
    r = b.post("/api/token", json={"username": "officer", "password": PASSWORD})
    assert int(r.headers["Retry-After"]) > 0 and "this account" in r.json()["detail"]
    assert _login(a, "other", PASSWORD) == 200  # another account is not affected

    store = open_store(store_settings)
    try:
        assert login_failures_kept(store) == 2 * LIMIT  # one per name and one per address
        with store.session() as s:
            kept = " ".join(s.scalars(select(LoginFailure.key_sha256)))
        # Only digests: a password typed into the name field is never stored.
        assert "officer" not in kept.lower() and "testclient" not in kept
    finally:
        store.dispose()


def test_the_window_passing_lifts_the_lock_for_every_process(
    two_apps: tuple[TestClient, TestClient], store_settings: StoreSettings
) -> None:
    a, b = two_apps
    for client in (a, b, a):
        assert _login(client, "officer", "wrong") == 401
    assert _login(a, "officer", PASSWORD) == 429
    store = open_store(store_settings)
    try:
        with store.session() as s:  # the window passes: age every failure past it
            for row in s.scalars(select(LoginFailure)):
                row.failed_at = row.failed_at.replace(year=row.failed_at.year - 1)
    finally:
        store.dispose()
    assert _login(b, "officer", PASSWORD) == 200
    assert _login(a, "officer", "wrong") == 401  # and the next failure sweeps the old rows
    store = open_store(store_settings)
    try:
        assert login_failures_kept(store) == 2
    finally:
        store.dispose()
