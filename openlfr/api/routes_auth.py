"""Logging in for the API (bearer tokens), who am I, and the OpenAPI schema."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openlfr.api.deps import check_login, client_ip, require, state_of
from openlfr.api.schema import openapi_schema
from openlfr.service.sessions import Principal, issue_session, revoke_session
from openlfr.store.models_accounts import SessionKind

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
