"""Security: 401/403 logged, log-in rate limits, CSRF, security headers, no stack traces,
RuleViolation as 422 with its rule, cookies' flags, the WebSocket's own checks."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

PASSWORD = "correct horse battery"


def _header_problems(r: Any, *, static: bool = False) -> list[str]:
    h = r.headers
    problems = []
    csp = h.get("content-security-policy", "")
    if "frame-ancestors 'none'" not in csp or "unsafe-eval" in csp:
        problems.append(f"csp {csp!r}")
    if "script-src" in csp and "'unsafe-inline'" in csp.split("script-src")[1].split(";")[0]:
        problems.append("inline scripts allowed")
    for name, value in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
    ]:
        if h.get(name) != value:
            problems.append(f"{name}={h.get(name)!r}")
    if not static and h.get("cache-control") != "no-store":
        problems.append(f"cache-control={h.get('cache-control')!r}")
    return problems


def test_security_headers_everywhere(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    cases = [
        client.get("/login"),
        client.get("/public"),
        client.get("/public/report.html"),
        client.get("/api/me"),  # 401
        client.get("/api/audit", headers=tokens["operator"]),  # 403
        client.get("/nowhere"),  # 404
        client.get(f"/api/alerts/{seeded.alert_id}/probe.jpg", headers=tokens["operator"]),
        client.post("/api/token", json={"username": 1}),  # 422
    ]
    problems = {str(r.request.url): p for r in cases if (p := _header_problems(r))}
    assert not problems
    assert not _header_problems(client.get("/static/app.css"), static=True)
    # The standalone report allows its own inline <style>, never any script.
    csp = client.get("/public/report.html").headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp


def test_unhandled_error_is_a_bare_500(
    client: TestClient, tokens: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from openlfr.api import routes_ops

    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(routes_ops, "list_alerts", boom)
    r = client.get("/api/alerts", headers=tokens["operator"])
    assert r.status_code == 500
    assert "secret internals" not in r.text and "Traceback" not in r.text
    assert r.json()["detail"] == "internal error" and r.json()["error_id"]
    assert not _header_problems(r)


def test_wrong_or_missing_credentials_are_refused_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="openlfr.security")
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/api/alerts", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.post("/api/token", json={"username": "operator", "password": "wrong password!"})
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/token", json={"username": "ghost", "password": "x"}).status_code == 401
    tok = client.post("/api/token", json={"username": "auditor", "password": PASSWORD}).json()
    auditor = {"Authorization": f"Bearer {tok['access_token']}"}
    assert client.get("/api/alerts", headers=auditor).status_code == 403
    logged = [r.getMessage() for r in caplog.records if r.name == "openlfr.security"]
    assert sum("refused 401" in m for m in logged) >= 4
    assert any("refused 403" in m and "auditor" in m for m in logged)
    # A revoked token stops working at once.
    assert client.post("/api/token/revoke", headers=auditor).status_code == 204
    assert client.get("/api/me", headers=auditor).status_code == 401


def test_login_rate_limited_per_account_and_per_ip(client: TestClient) -> None:
    # settings: 3 failures per account, 8 per address, in 300 s
    for _ in range(3):
        assert (
            client.post("/api/token", json={"username": "operator", "password": "bad"}).status_code
            == 401
        )
    r = client.post("/api/token", json={"username": "operator", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    # The message says how long, and that the lock is per account and per address.
    text = r.json()["detail"]
    assert "this account" in text and "per account" in text and "per client address" in text
    assert re.search(r"locked for \d+ more minutes? \(until \d\d:\d\d UTC\)", text), text
    # Another account from the same address still works until the per-address limit.
    assert (
        client.post("/api/token", json={"username": "auditor", "password": PASSWORD}).status_code
        == 200
    )
    for i in range(5):
        client.post("/api/token", json={"username": f"guess{i}", "password": "bad"})
    r = client.post("/api/token", json={"username": "admin", "password": PASSWORD})
    assert r.status_code == 429
    # The log-in page is limited too.
    page = client.get("/login")
    csrf = client.cookies.get("openlfr_login_csrf")
    r = client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": csrf})
    assert r.status_code == 429 and page.status_code == 200
    assert "this address" in r.text and "minute" in r.text and "lifts by itself" in r.text


def test_cookie_session_flags_and_csrf(
    client: TestClient, login: Callable[[str], str], seeded: Any
) -> None:
    # Log-in form without its CSRF token: refused.
    client.get("/login")
    r = client.post(
        "/login", data={"username": "operator", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403
    csrf = login("operator")
    url = f"/api/alerts/{seeded.alert_id}/adjudicate"
    body = {"decision": "not_actioned", "reason": "crowded, could not reach"}
    assert client.post(url, json=body).status_code == 403  # cookie alone is not enough
    assert client.post(url, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    # Form posts carry it as a field; logging out without it is refused.
    assert client.post("/logout", follow_redirects=False).status_code == 403
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/alerts").status_code == 401


def test_set_cookie_attributes(client: TestClient, settings: Any) -> None:
    client.get("/login")
    csrf = client.cookies.get("openlfr_login_csrf")
    r = client.post(
        "/login",
        data={"username": "operator", "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    header = next(
        v for k, v in r.headers.multi_items() if k == "set-cookie" and "openlfr_session" in v
    )
    assert "HttpOnly" in header and "SameSite=strict" in header.replace("Strict", "strict")
    assert "Secure" not in header  # off by default (loopback); on with --secure-cookies


def test_secure_cookies_setting(settings: Any) -> None:
    from openlfr.api import create_app
    from openlfr.service.accounts import create_account

    web = settings.web.model_copy(update={"secure_cookies": True})
    app = create_app(settings.model_copy(update={"web": web}))
    create_account(
        app.state.svc.store, username="op", password=PASSWORD, role="operator", created_by="t"
    )
    with TestClient(app, base_url="https://testserver") as c:
        c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": "op",
                "password": PASSWORD,
                "csrf_token": c.cookies.get("openlfr_login_csrf"),
            },
            follow_redirects=False,
        )
        header = next(
            v for k, v in r.headers.multi_items() if k == "set-cookie" and "openlfr_session" in v
        )
        assert "Secure" in header
        assert r.headers["strict-transport-security"].startswith("max-age=")
    app.state.svc.store.dispose()


def test_rule_violation_is_422_with_its_rule(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Any
) -> None:
    url = f"/api/alerts/{seeded.alert_id}/adjudicate"
    body = {"decision": "false_alert", "reason": "different person"}
    assert client.post(url, json=body, headers=tokens["operator"]).status_code == 200
    r = client.post(url, json=body, headers=tokens["operator"])
    assert r.status_code == 422 and r.json()["rule"] == "R13"
    r = client.post(
        f"/api/alerts/{seeded.alert_id}/outcome",
        json={"outcome": "arrested"},
        headers=tokens["operator"],
    )
    assert r.status_code == 422 and r.json()["rule"] == "R13"


def test_websocket_needs_an_operator_session(
    client: TestClient, login: Callable[[str], str], tokens: dict[str, dict[str, str]]
) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/alerts") as ws:
        ws.receive_json()
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws/alerts", headers=tokens["operator"]) as ws,
    ):
        ws.receive_json()  # a bearer token is not a browser session
    login("auditor")
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws/alerts") as ws:
        ws.receive_json()
    login("operator")
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws/alerts", headers={"Origin": "http://evil.example"}) as ws,
    ):
        ws.receive_json()  # cross-site WebSocket hijacking
    with client.websocket_connect("/ws/alerts", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "health"
