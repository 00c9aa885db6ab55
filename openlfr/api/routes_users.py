"""Administrator routes (JSON): accounts, and grants awaiting a second administrator. The page
in openlfr.web.pages_users calls the same use-cases (openlfr.service.accounts)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from openlfr.api.deps import require, state_of
from openlfr.service import account_grants, accounts
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["accounts"])
ADMIN = require(Role.ADMIN)


class AccountChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class PasswordReset(AccountChange):
    password: str = Field(max_length=1024)
    old_password: str | None = Field(
        None, max_length=1024, description="Required when resetting your own password."
    )


class AccountIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    role: Role
    display_name: str = Field("", max_length=200)
    rank: str | None = Field(None, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class GrantIn(AccountChange):
    role: Role
    rank: str | None = Field(None, max_length=64)


@router.get("/api/users")
def users(request: Request, _: Principal = Depends(ADMIN)) -> list[dict[str, Any]]:
    return accounts.account_rows(state_of(request).store)


@router.get("/api/users/grants")
def grants(request: Request, _: Principal = Depends(ADMIN)) -> list[dict[str, Any]]:
    """Grants awaiting a second administrator."""
    return [asdict(g) for g in account_grants.pending_grants(state_of(request).store)]


@router.post("/api/users", status_code=201)
def add_user(body: AccountIn, request: Request, who: Principal = Depends(ADMIN)) -> dict[str, Any]:
    """Add an account. An admin or authorising-officer account, or one with a rank, cannot log
    in until a second administrator approves it (`pending: true`)."""
    account_id, pending = accounts.add_account(
        state_of(request).store, actor=who.username, username=body.username,
        password=body.password, role=body.role.value, display_name=body.display_name,
        rank=body.rank, reason=body.reason,
    )  # fmt: skip
    return {"id": account_id, "username": body.username, "role": body.role.value,
            "pending": pending}  # fmt: skip


@router.post("/api/users/{username}/password")
def new_password(
    username: str, body: PasswordReset, request: Request, who: Principal = Depends(ADMIN)
) -> dict[str, Any]:
    """Reset an account's password (your own only with `old_password`); its sessions and
    tokens end. Audited. (Declared before the route below, whose {action} would otherwise
    claim "password".)"""
    accounts.reset_password(
        state_of(request).store, username, body.password, actor=who.username,
        reason=body.reason, old_password=body.old_password,
    )  # fmt: skip
    return {"username": username, "password_reset": True}


@router.post("/api/users/{username}/grant")
def grant(
    username: str, body: GrantIn, request: Request, who: Principal = Depends(ADMIN)
) -> dict[str, Any]:
    """Give an account a new role (its one role) or rank; `pending` when a second
    administrator must approve it."""
    pending = account_grants.request_grant(
        state_of(request).store, username, role=body.role.value, rank=body.rank,
        actor=who.username, reason=body.reason,
    )  # fmt: skip
    return {"username": username, "role": body.role.value, "pending": pending}


@router.post("/api/users/{username}/{action}")
def change_user(
    username: str, action: Literal["disable", "enable", "approve", "reject"],
    body: AccountChange, request: Request, who: Principal = Depends(ADMIN),
) -> dict[str, Any]:  # fmt: skip
    """Disable an account (its sessions and tokens stop at once) or enable it again; approve or
    reject its pending grant (an administrator other than the one who asked). Audited."""
    store = state_of(request).store
    if action in ("approve", "reject"):
        status = account_grants.decide_grant(store, username, approve=action == "approve",
                                       actor=who.username, reason=body.reason)  # fmt: skip
        return {"username": username, "grant": status}
    disabled = action == "disable"
    accounts.set_disabled(store, username, disabled=disabled, actor=who.username,
                          reason=body.reason)  # fmt: skip
    return {"username": username, "disabled": disabled}
