"""Accounts and sessions: argon2id password hashes, random tokens stored only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openlfr.domain import parse_rank
from openlfr.errors import OpenLFRError
from openlfr.store import AuditAction, Store, append_audit
from openlfr.store.models import utcnow
from openlfr.store.models_accounts import Account, Role, SessionKind, WebSession

MIN_PASSWORD_LENGTH = 12
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the username is unknown, so that a miss costs as long as a wrong
# password and response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class AccountError(OpenLFRError):
    """An account could not be created (duplicate name, weak password, missing rank)."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request, and how they proved it."""

    account_id: int
    username: str
    display_name: str
    role: Role
    rank: str | None
    csrf_token: str
    via: SessionKind


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_account(
    store: Store,
    *,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    rank: str | None = None,
    created_by: str,
) -> int:
    try:
        role_value = Role(role)
    except ValueError:
        raise AccountError(f"role must be one of: {', '.join(r.value for r in Role)}") from None
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").isalnum()
    ):
        raise AccountError("username: 1-64 letters, digits, '.' or '_'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if role_value is Role.AUTHORISING_OFFICER:
        if not rank:
            raise AccountError("an authorising officer's account must record their rank")
        rank = parse_rank(rank).name.lower()  # refuses an unknown rank now, not at authorising
    with store.session() as s:
        if s.scalar(select(Account.id).where(Account.username == username)) is not None:
            raise AccountError(f"account {username!r} already exists")
        account = Account(
            username=username,
            display_name=display_name.strip() or username,
            role=role_value.value,
            rank=rank,
            password_hash=_HASHER.hash(password),
            created_by=created_by,
        )
        s.add(account)
        s.flush()
        # Accounts decide who may see personal data: creating one is logged like the data.
        append_audit(
            s,
            actor=created_by,
            action=AuditAction.COLLECTION,
            event="account_created",
            object_type="account",
            object_id=account.id,
            justification=f"account {username} created with role {role_value.value}",
        )
        return account.id


def count_accounts(store: Store, role: Role | None = None) -> int:
    with store.session() as s:
        q = select(func.count(Account.id))
        if role is not None:
            q = q.where(Account.role == role.value)
        return int(s.scalar(q) or 0)


def list_accounts(store: Store) -> list[Account]:
    with store.session() as s:
        return list(s.scalars(select(Account).order_by(Account.username)))


def authenticate(store: Store, username: str, password: str) -> Account | None:
    with store.session() as s:
        account = s.scalar(select(Account).where(Account.username == username.strip()))
        stored = account.password_hash if account and not account.disabled else _DUMMY_HASH
        try:
            _HASHER.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if account is None or account.disabled:
            return None
        if _HASHER.check_needs_rehash(account.password_hash):
            account.password_hash = _HASHER.hash(password)
        return account


def issue_session(
    store: Store, account_id: int, kind: SessionKind, hours: float, client: str | None
) -> tuple[str, str]:
    """A new (token, csrf token). 32 random bytes each: unguessable, nothing derived."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with store.session() as s:
        # Expired rows are swept here, on the write path that creates them, not by a timer.
        s.execute(delete(WebSession).where(WebSession.expires_at < now))
        s.add(
            WebSession(
                token_sha256=token_digest(token),
                account_id=account_id,
                kind=kind.value,
                csrf_token=csrf,
                expires_at=now + timedelta(hours=hours),
                client=(client or "")[:64] or None,
            )
        )
    return token, csrf


def resolve_token(store: Store, token: str, kind: SessionKind) -> Principal | None:
    if not token or len(token) > 200:
        return None
    with store.session() as s:
        row = s.execute(
            select(WebSession, Account)
            .join(Account, Account.id == WebSession.account_id)
            .where(WebSession.token_sha256 == token_digest(token), WebSession.kind == kind.value)
        ).first()
        if row is None:
            return None
        sess, account = row
        if sess.expires_at <= utcnow() or account.disabled:
            return None
        return Principal(
            account.id,
            account.username,
            account.display_name,
            Role(account.role),
            account.rank,
            sess.csrf_token,
            kind,
        )


def revoke_session(store: Store, token: str) -> None:
    with store.session() as s:
        s.execute(delete(WebSession).where(WebSession.token_sha256 == token_digest(token)))


def _account(s: Session, username: str) -> Account:
    account = s.scalar(select(Account).where(Account.username == username.strip()))
    if account is None:
        raise AccountError(f"no account {username!r}")
    return account


def set_disabled(store: Store, username: str, *, disabled: bool, actor: str, reason: str) -> None:
    """Disables (or enables again) an account. Disabling ends its page sessions and API tokens
    at once: the rows are deleted here, and every request (and the open alert feed) looks the
    account up again, so nothing it holds keeps working. Audited."""
    if not reason.strip():
        raise AccountError("say why (it goes into the audit log)")
    with store.session() as s:
        account = _account(s, username)
        if disabled and account.username == actor:
            # An administrator locking themselves out may leave nobody able to undo it.
            raise AccountError("you cannot disable your own account")
        account.disabled = disabled
        if disabled:
            s.execute(delete(WebSession).where(WebSession.account_id == account.id))
        append_audit(
            s,
            actor=actor,
            action=AuditAction.ALTERATION,
            event="account_disabled" if disabled else "account_enabled",
            object_type="account",
            object_id=account.id,
            justification=f"account {account.username} {'disabled' if disabled else 'enabled'}: "
            f"{reason.strip()}",
        )


def reset_password(store: Store, username: str, password: str, *, actor: str, reason: str) -> None:
    """Sets a new password chosen by an administrator. Every session and token of the account
    ends: a reset usually means the old password may be known to someone else. Audited (the
    password itself never is)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not reason.strip():
        raise AccountError("say why (it goes into the audit log)")
    with store.session() as s:
        account = _account(s, username)
        account.password_hash = _HASHER.hash(password)
        s.execute(delete(WebSession).where(WebSession.account_id == account.id))
        append_audit(
            s,
            actor=actor,
            action=AuditAction.ALTERATION,
            event="password_reset",
            object_type="account",
            object_id=account.id,
            justification=f"password of {account.username} reset: {reason.strip()}",
        )
