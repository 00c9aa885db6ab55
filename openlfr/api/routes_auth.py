"""Logging in for the API (bearer tokens), who am I, and the OpenAPI schema."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from openlfr.api.deps import client_ip, refuse, require, state_of
from openlfr.api.schema import openapi_schema
from openlfr.service.accounts import authenticate
from openlfr.service.sessions import Principal, issue_session, revoke_session
from openlfr.store.models_accounts import Account, SessionKind

log = logging.getLogger("openlfr.security")
router = APIRouter(tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in_s: int
    role: str


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


@router.post("/api/token", response_model=Token)
def token(creds: Credentials, request: Request) -> Token:
    """Exchange a username and password for a bearer token (rate-limited like the log-in page)."""
    account = check_login(request, creds.username, creds.password)
    hours = state_of(request).settings.web.token_hours
    tok, _ = issue_session(
        state_of(request).store, account.id, SessionKind.BEARER, hours, client_ip(request)
    )
    return Token(access_token=tok, expires_in_s=int(hours * 3600), role=account.role)


@router.post("/api/token/revoke", status_code=204)
def revoke(request: Request, who: Principal = Depends(require())) -> None:
    """Revoke the bearer token this request was made with."""
    auth = request.headers.get("authorization", "")
    if who.via is SessionKind.BEARER and auth.lower().startswith("bearer "):
        revoke_session(state_of(request).store, auth[7:].strip())


@router.get("/api/me")
def me(who: Principal = Depends(require())) -> dict[str, Any]:
    return {
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role.value,
        "rank": who.rank,
    }


@router.get("/api/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Principal = Depends(require())) -> dict[str, Any]:
    return openapi_schema(request.app)
