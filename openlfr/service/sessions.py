"""Sessions: page cookies and API/CLI bearer tokens. Random tokens, stored only as SHA-256,
so a read of the table (a backup, a replica) yields no usable credential."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openlfr.store import Store
from openlfr.store.models import utcnow
from openlfr.store.models_accounts import Account, LoginFailure, Role, SessionKind, WebSession


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


def issue_session(
    store: Store, account_id: int, kind: SessionKind, hours: float, client: str | None
) -> tuple[str, str]:
    """A new (token, csrf token). 32 random bytes each: unguessable, nothing derived."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = utcnow()
    with store.session() as s:
        account = s.get(Account, account_id)
        if account is None or account.disabled or account.awaiting_approval:
            # Checked here too, not only at the password: no path hands a token to an account
            # that may not act (disabled, or its grant not yet approved by a second admin).
            raise PermissionError(f"account {account_id} may not log in")
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
        if sess.expires_at <= utcnow() or account.disabled or account.awaiting_approval:
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


def standing_roles(store: Store, digests: Collection[str], kind: SessionKind) -> dict[str, Role]:
    """Of the sessions with these token digests, those that still stand (unexpired, account
    enabled and approved), with the role each account has now: one query for every open feed,
    as ``resolve_token`` checks each request."""
    if not digests:
        return {}
    with store.session() as s:
        rows = s.execute(
            select(WebSession.token_sha256, Account.role)
            .join(Account, Account.id == WebSession.account_id)
            .where(
                WebSession.token_sha256.in_(list(digests)),
                WebSession.kind == kind.value,
                WebSession.expires_at > utcnow(),
                Account.disabled.is_(False),
                Account.awaiting_approval.is_(False),
            )
        ).all()
        return {str(d): Role(r) for d, r in rows}


def revoke_session(store: Store, token: str) -> None:
    with store.session() as s:
        s.execute(delete(WebSession).where(WebSession.token_sha256 == token_digest(token)))


def end_sessions(s: Session, account_id: int) -> None:
    """Deletes every session and token of an account, inside the caller's transaction."""
    s.execute(delete(WebSession).where(WebSession.account_id == account_id))


@dataclass(frozen=True)
class LoginLimits:
    """Failed log-ins allowed within ``window_s``: per account name, and per client address."""

    per_account: int
    per_ip: int
    window_s: float


def _login_keys(username: str, ip: str) -> list[tuple[str, str]]:
    return [
        ("account", hashlib.sha256(f"u:{username.strip().lower()}".encode()).hexdigest()),
        ("address", hashlib.sha256(f"ip:{ip}".encode()).hexdigest()),
    ]


def login_locks(store: Store, username: str, ip: str, limits: LoginLimits) -> dict[str, float]:
    """The limits reached ("account", "address") with the seconds each has left.

    Read from the store, not from a process's memory: several server processes (uvicorn
    workers, a second `openlfr serve`) on one store share one count, so adding processes does
    not multiply the guesses an attacker gets."""
    now = utcnow()
    since = now - timedelta(seconds=limits.window_s)
    out: dict[str, float] = {}
    with store.session() as s:
        for (what, key), limit in zip(
            _login_keys(username, ip), (limits.per_account, limits.per_ip), strict=True
        ):
            recent = list(
                s.scalars(
                    select(LoginFailure.failed_at)
                    .where(LoginFailure.key_sha256 == key, LoginFailure.failed_at > since)
                    .order_by(LoginFailure.failed_at.desc())
                    .limit(limit)
                )
            )
            if len(recent) >= limit:
                left = (recent[-1] - since).total_seconds()
                out[what] = max(left, 0.001)
    return out


def record_login_failure(store: Store, username: str, ip: str, limits: LoginLimits) -> None:
    """Counts one failed log-in against the name and the address, for every process."""
    now = utcnow()
    with store.session() as s:
        # Swept here, on the write that adds rows: a flood of failures keeps at most one
        # window's worth, never an unbounded table.
        s.execute(
            delete(LoginFailure).where(
                LoginFailure.failed_at <= now - timedelta(seconds=limits.window_s)
            )
        )
        s.add_all(
            LoginFailure(key_sha256=key, failed_at=now) for _, key in _login_keys(username, ip)
        )


def login_failures_kept(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(LoginFailure)) or 0)
