"""Moved: accounts live in openlfr.service.accounts, sessions in openlfr.service.sessions (every
write goes through service/). These re-exports keep older imports (tests written before the
move) working; new code imports from service."""

from __future__ import annotations

from openlfr.service.accounts import (
    _HASHER,
    MIN_PASSWORD_LENGTH,
    AccountError,
    authenticate,
    count_accounts,
    create_account,
    list_accounts,
    reset_password,
    set_disabled,
)
from openlfr.service.sessions import Principal, issue_session, resolve_token, revoke_session

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "_HASHER",
    "AccountError",
    "Principal",
    "authenticate",
    "count_accounts",
    "create_account",
    "issue_session",
    "list_accounts",
    "reset_password",
    "resolve_token",
    "revoke_session",
    "set_disabled",
]
