"""Who is asking, and may they? Session cookie for pages, bearer token for the API."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection

from openlfr.api.state import ServiceState
from openlfr.service.sessions import Principal, resolve_token
from openlfr.store.models_accounts import Role, SessionKind

log = logging.getLogger("openlfr.security")

COOKIE = "openlfr_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ALL_ROLES = tuple(Role)


def state_of(conn: HTTPConnection) -> ServiceState:
    svc: ServiceState = conn.app.state.svc
    return svc


def client_ip(conn: HTTPConnection) -> str:
    return conn.client.host if conn.client else "unknown"


def principal_of(conn: HTTPConnection) -> Principal | None:
    """The caller, from a bearer token if one is sent, else from the session cookie."""
    svc = state_of(conn)
    auth = conn.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return resolve_token(svc.store, auth[7:].strip(), SessionKind.BEARER)
    cookie = conn.cookies.get(COOKIE)
    if cookie:
        return resolve_token(svc.store, cookie, SessionKind.COOKIE)
    return None


def refuse(conn: HTTPConnection, status: int, why: str, who: str | None = None) -> HTTPException:
    """Refusals go to the security log, not the audit log: the audit log records processing of
    personal data and can never be pruned, so an unauthenticated flood must not grow it."""
    log.warning(
        "refused %s %s %s from %s (%s): %s",
        status,
        getattr(conn, "method", "WS"),
        conn.url.path,
        client_ip(conn),
        who or "anonymous",
        why,
    )
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, detail=why, headers=headers)


async def _check_csrf(request: Request, principal: Principal) -> None:
    # Only a cookie is sent by the browser on its own; a bearer token never is, so only
    # cookie-authenticated writes need proof that the page itself sent them.
    if request.method in SAFE_METHODS or principal.via is not SessionKind.COOKIE:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    if not sent or not hmac.compare_digest(sent, principal.csrf_token):
        raise refuse(request, 403, "missing or wrong CSRF token", principal.username)


def require(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting the given roles (all roles when none are given)."""
    allowed = set(roles or ALL_ROLES)

    async def dependency(request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise refuse(request, 401, "not logged in or session expired")
        if principal.role not in allowed:
            raise refuse(
                request, 403, f"role {principal.role.value} may not do this", principal.username
            )
        await _check_csrf(request, principal)
        request.state.principal = principal
        return principal

    return dependency
