"""Response headers on every response, a last-resort error handler, and the log-in limiter."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from openlfr.service.sessions import LoginLimits, login_locks, record_login_failure
from openlfr.store import Store

log = logging.getLogger("openlfr.security")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# No inline script or style anywhere: an injected <script> or on* attribute cannot run, which
# matters on pages that show names next to faces. 'self' in connect-src covers the same-origin
# WebSocket in current browsers.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_BASE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeaders:
    """Pure ASGI middleware (a BaseHTTPMiddleware would break WebSockets and streaming).

    Every response but the static files gets ``Cache-Control: no-store``: pages and API answers
    may hold personal data and must not linger in a shared or browser cache. It also turns any
    unhandled exception into a bare 500 with an error id (the traceback goes to the log only),
    and it sits outside Starlette's own error middleware so that even that 500 has headers.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in {b"cache-control", b"server"}
                ]
                # A route may set a stricter or page-specific CSP (the standalone reports).
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in _BASE_HEADERS if h[0] not in present)
                headers.append(
                    (b"cache-control", b"public, max-age=300" if static else b"no-store")
                )
                if self.hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception(
                "unhandled error %s on %s %s", error_id, scope.get("method"), scope.get("path")
            )
            if started:
                raise
            body = json.dumps({"detail": "internal error", "error_id": error_id}).encode()
            await send_with_headers(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})


class LoginLimiter:
    """Failed log-ins counted per account name and per client address in a sliding window.

    The counts live in the store (service.sessions), so every server process on one store -
    several uvicorn workers, or `openlfr serve` on two machines sharing PostgreSQL - sees the
    same count; a limit held in each process's memory would give an attacker one limit per
    process."""

    def __init__(self, store: Store, per_account: int, per_ip: int, window_s: float) -> None:
        self.store = store
        self.limits = LoginLimits(per_account, per_ip, window_s)

    def retry_after(self, username: str, ip: str) -> float | None:
        """Seconds to wait when either limit is reached, else None."""
        locks = self.locks(username, ip)
        return max(locks.values()) if locks else None

    def locks(self, username: str, ip: str) -> dict[str, float]:
        """The limits reached ("account", "address") with the seconds each has left."""
        return login_locks(self.store, username, ip, self.limits)

    def failed(self, username: str, ip: str) -> None:
        record_login_failure(self.store, username, ip, self.limits)
