"""Accounts and the separation of duties: argon2id password hashes; one role per account; the
admin and authorising-officer roles and any rank given only once a second administrator
approves; every change audited with its reason.

`create_account` is the set-up primitive (tests, the first administrators through
`create_first_admin`); every page, route and command acting for an administrator goes through
`add_account` (here) or `account_grants.request_grant` instead, which apply the second-admin
rule (tests/test_layers.py checks that no interface calls `create_account`).
"""

from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.domain.duties import needs_second_admin
from openlfr.service.account_rules import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    account_named,
    account_rank,
    active_admin,
    audit_account,
    check_password,
    check_username,
    parse_role,
    reason_text,
)
from openlfr.service.sessions import end_sessions
from openlfr.store import AuditAction, Store
from openlfr.store.models_accounts import Account, AccountGrant, Role

__all__ = ["MIN_PASSWORD_LENGTH", "AccountError"]  # re-exported: where callers look for them
MAX_BOOTSTRAP_ADMINS = 2
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the username is unknown, so that a miss costs as long as a wrong
# password and response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


def _insert(
    s: Session,
    *,
    username: str,
    password: str,
    role: Role,
    rank: str | None,
    display_name: str,
    created_by: str,
    awaiting: bool,
) -> Account:
    username = check_username(username)
    check_password(password)
    if s.scalar(select(Account.id).where(Account.username == username)) is not None:
        raise AccountError(f"account {username!r} already exists")
    account = Account(
        username=username,
        display_name=display_name.strip() or username,
        role=role.value,
        rank=rank,
        password_hash=_HASHER.hash(password),
        created_by=created_by,
        awaiting_approval=awaiting,
    )
    s.add(account)
    s.flush()
    return account


def create_account(
    store: Store,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    rank: str | None = None,
    created_by: str,
    reason: str = "set up outside the service",
) -> int:
    """An active account at once: the set-up primitive, for no interface (see module doc)."""
    role_value = parse_role(role)
    rank = account_rank(role_value, rank)
    with store.session() as s:
        account = _insert(
            s,
            username=username,
            password=password,
            role=role_value,
            rank=rank,
            display_name=display_name,
            created_by=created_by,
            awaiting=False,
        )
        audit_account(
            s,
            created_by,
            AuditAction.COLLECTION,
            "account_created",
            account,
            f"account {account.username} created with role {role_value.value}: "
            f"{reason_text(reason)}",
        )
        return account.id


def create_first_admin(
    store: Store,
    *,
    username: str,
    password: str,
    display_name: str = "",
    created_by: str,
    reason: str = "one of the first two administrators (openlfr user create-admin)",
) -> int:
    """One of the first two administrators, who then approve each other's grants. Refused
    once two admin accounts exist (in any state: a disabled or pending one still counts)."""
    if count_accounts(store, Role.ADMIN) >= MAX_BOOTSTRAP_ADMINS:
        raise AccountError(
            f"this store already has {MAX_BOOTSTRAP_ADMINS} administrators: log in as one and "
            "use `openlfr user add NAME --role admin` (a second administrator approves it)"
        )
    return create_account(
        store,
        username=username,
        password=password,
        role=Role.ADMIN.value,
        display_name=display_name,
        created_by=created_by,
        reason=reason,
    )


def add_account(
    store: Store,
    *,
    actor: str,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    rank: str | None = None,
    reason: str,
) -> tuple[int, bool]:
    """An administrator adds an account: (id, pending). An admin or authorising-officer
    account, or one with a rank, cannot log in until a second administrator approves it."""
    role_value = parse_role(role)
    rank = account_rank(role_value, rank)
    why = reason_text(reason)
    pending = needs_second_admin(role_value.value, rank)
    with store.session() as s:
        active_admin(s, actor)
        account = _insert(
            s,
            username=username,
            password=password,
            role=role_value,
            rank=rank,
            display_name=display_name,
            created_by=actor,
            awaiting=pending,
        )
        what = f"account {account.username} created with role {role_value.value}" + (
            f", rank {rank}" if rank else ""
        )
        audit_account(
            s,
            actor,
            AuditAction.COLLECTION,
            "account_created",
            account,
            f"{what}{' (awaiting a second administrator)' if pending else ''}: {why}",
        )
        if pending:
            s.add(
                AccountGrant(
                    account_id=account.id,
                    role=role_value.value,
                    rank=rank,
                    reason=why,
                    requested_by=actor,
                )
            )
        return account.id, pending


def count_accounts(store: Store, role: Role | None = None) -> int:
    with store.session() as s:
        q = select(func.count(Account.id))
        if role is not None:
            q = q.where(Account.role == role.value)
        return int(s.scalar(q) or 0)


def list_accounts(store: Store) -> list[Account]:
    with store.session() as s:
        return list(s.scalars(select(Account).order_by(Account.username)))


def account_rows(store: Store) -> list[dict[str, Any]]:
    return [
        {
            "username": a.username,
            "display_name": a.display_name,
            "role": a.role,
            "rank": a.rank,
            "disabled": a.disabled,
            "awaiting_approval": a.awaiting_approval,
            "created_at": a.created_at.isoformat(),
        }
        for a in list_accounts(store)
    ]


def authenticate(store: Store, username: str, password: str) -> Account | None:
    with store.session() as s:
        account = s.scalar(select(Account).where(Account.username == username.strip()))
        usable = account is not None and not account.disabled and not account.awaiting_approval
        stored = account.password_hash if account is not None and usable else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None or not usable:
            return None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        return account


def set_disabled(store: Store, username: str, *, disabled: bool, actor: str, reason: str) -> None:
    """Disables (or enables again) an account. Disabling ends its page sessions and API tokens
    at once: the rows are deleted here, and every request (and the open alert feed) looks the
    account up again, so nothing it holds keeps working. Enabling an account whose grant
    awaits approval does not let it log in. Audited."""
    why = reason_text(reason)
    with store.session() as s:
        active_admin(s, actor)
        account = account_named(s, username)
        if disabled and account.username == actor:
            # An administrator locking themselves out may leave nobody able to undo it.
            raise AccountError("you cannot disable your own account")
        account.disabled = disabled
        if disabled:
            end_sessions(s, account.id)
        state = "disabled" if disabled else "enabled"
        audit_account(
            s,
            actor,
            AuditAction.ALTERATION,
            f"account_{state}",
            account,
            f"account {account.username} {state}: {why}",
        )


def reset_password(
    store: Store,
    username: str,
    password: str,
    *,
    actor: str,
    reason: str,
    old_password: str | None = None,
) -> None:
    """Sets a new password. An administrator may reset another account's; their own only with
    the old password (a stolen admin session must not become the admin's password); another
    administrator's never (knowing it, they could act as that administrator and approve their
    own grants). Every session and token of the account ends. Audited (the password never is)."""
    check_password(password)
    why = reason_text(reason)
    with store.session() as s:
        active_admin(s, actor)
        account = account_named(s, username)
        if account.username != actor and account.role == Role.ADMIN.value:
            raise AccountError(
                "an administrator's password is changed only by its holder (with the old one): "
                "whoever knew it could approve grants as them"
            )
        if account.username == actor:
            try:
                _HASHER.verify(account.password_hash, old_password or "")
            except (VerificationError, InvalidHashError):
                raise AccountError(
                    "your own password is changed only with the old password (old_password)"
                ) from None
        account.password_hash = _HASHER.hash(password)
        end_sessions(s, account.id)
        audit_account(
            s,
            actor,
            AuditAction.ALTERATION,
            "password_reset",
            account,
            f"password of {account.username} reset: {why}",
        )
