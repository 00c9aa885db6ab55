"""Who is asking, and may they? Session cookie for pages, bearer token for the API; the log-in
check both share. Where api/ and web/ meet: web imports from api only this module (and params)."""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection

from openlfr.api.state import ServiceState
from openlfr.service.accounts import authenticate
from openlfr.service.sessions import Principal, resolve_token
from openlfr.store.models_accounts import Account, Role, SessionKind

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


def require_upload(
    max_bytes: int, made_of: str, *roles: Role
) -> Callable[[Request], Awaitable[Principal]]:
    """`require` for a route that takes files: the body's stated length is checked first, from
    the headers, since the CSRF check would otherwise read (and hold) the whole body. The
    upload middleware does the same for multipart bodies; this covers any other kind."""
    inner = require(*roles)

    async def dependency(request: Request) -> Principal:
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            raise HTTPException(411, "an upload must state its length (Content-Length)")
        if int(length) > max_bytes:
            raise HTTPException(
                413, f"upload of {int(length) / 2**20:.0f} MiB is over the {max_bytes // 2**20} "
                f"MiB limit ({made_of}): nothing was enrolled or kept",
            )  # fmt: skip
        return await inner(request)

    return dependency


async def read_upload(item: object, max_bytes: int) -> tuple[str, bytes] | None:
    """A form value that is a chosen file: its name and at most ``max_bytes + 1`` of its bytes
    (one past the limit, so that the service can tell an oversized file and refuse it)."""
    if not isinstance(item, UploadFile) or not (item.filename or item.size):
        return None
    return item.filename or "", await item.read(max_bytes + 1)


def lock_message(locks: dict[str, float], max_failures: int) -> str:
    """Says what is locked, for how long, and that it is not the whole service: an officer
    told only "try again later" retries the right password and thinks it wrong."""
    wait = max(locks.values())
    mins = max(1, math.ceil(wait / 60))
    until = (datetime.now(UTC) + timedelta(seconds=wait)).strftime("%H:%M")
    what = (
        "this account"
        if "address" not in locks
        else "this address (too many failed log-ins from it, for any account)"
        if "account" not in locks
        else "this account and this address"
    )
    return (
        f"Too many wrong passwords: log-ins to {what} are locked for {mins} more "
        f"minute{'s' if mins != 1 else ''} (until {until} UTC); even the right password is "
        f"refused until then. The lock is per account (after {max_failures} failures) and per "
        "client address, and lifts by itself; other accounts and addresses are not affected."
    )


def check_login(request: Request, username: str, password: str) -> Account:
    """The account, or 429 (too many failures) / 401. Used by the page form and the API."""
    svc = state_of(request)
    ip = client_ip(request)
    locks = svc.limiter.locks(username, ip)
    if locks:
        log.warning("log-in throttled for %r from %s", username, ip)
        wait = max(locks.values())
        raise HTTPException(429, lock_message(locks, svc.settings.web.login_max_failures),
                            {"Retry-After": str(int(wait) + 1)})  # fmt: skip
    account = authenticate(svc.store, username, password)
    if account is None:
        svc.limiter.failed(username, ip)
        raise refuse(request, 401, "wrong username or password", username or None)
    log.info("log-in by %s (%s) from %s", account.username, account.role, ip)
    return account
