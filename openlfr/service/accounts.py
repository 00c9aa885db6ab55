"""Accounts and the separation of duties: argon2id password hashes; one role per account; the
admin and authorising-officer roles and any rank given only once a second administrator
approves; every change audited with its reason.

`create_account` is the set-up primitive (tests, the first administrators through
`create_first_admin`); every page, route and command acting for an administrator goes through
`add_account` / `request_grant` instead, which apply the second-admin rule
(tests/test_layers.py checks that no interface calls `create_account`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.domain import parse_rank
from openlfr.errors import OpenLFRError
from openlfr.service.sessions import end_sessions
from openlfr.store import AuditAction, Store, append_audit
from openlfr.store.models import utcnow
from openlfr.store.models_accounts import Account, AccountGrant, RequestStatus, Role

MIN_PASSWORD_LENGTH = 12
MAX_BOOTSTRAP_ADMINS = 2
_HASHER = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters
# Verified against when the username is unknown, so that a miss costs as long as a wrong
# password and response times do not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))
# Roles whose holder can authorise deployments or hand out accounts: never one person's gift.
GUARDED_ROLES = frozenset({Role.ADMIN, Role.AUTHORISING_OFFICER})


class AccountError(OpenLFRError):
    """An account could not be created or changed (duplicate name, weak password, missing
    rank, a grant that needs a second administrator)."""


@dataclass(frozen=True)
class GrantView:
    id: int
    username: str
    role: str
    rank: str | None
    reason: str
    requested_by: str
    requested_at: str
    new_account: bool


def needs_second_admin(role: Role, rank: str | None) -> bool:
    """The rule itself (table-tested): the admin or authorising-officer role, or any rank."""
    return role in GUARDED_ROLES or bool(rank)


def _role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"role must be one of: {', '.join(r.value for r in Role)}") from None


def _rank(role: Role, rank: str | None) -> str | None:
    if role is Role.AUTHORISING_OFFICER and not rank:
        raise AccountError("an authorising officer's account must record their rank")
    return parse_rank(rank).name.lower() if rank else None  # an unknown rank refused now


def _reason(reason: str) -> str:
    if not reason.strip():
        raise AccountError("say why (it goes into the audit log)")
    return reason.strip()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def _check_username(username: str) -> str:
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").isalnum()
    ):
        raise AccountError("username: 1-64 letters, digits, '.' or '_'")
    return username


def _account(s: Session, username: str) -> Account:
    account = s.scalar(select(Account).where(Account.username == username.strip()))
    if account is None:
        raise AccountError(f"no account {username!r}")
    return account


def _admin(s: Session, actor: str) -> Account:
    """The acting administrator's own account: checked here as well as at the interface, so
    a use-case called under any other name refuses."""
    account = s.scalar(select(Account).where(Account.username == actor))
    if (
        account is None
        or account.role != Role.ADMIN.value
        or account.disabled
        or account.awaiting_approval
    ):
        raise AccountError(f"{actor} is not an active administrator")
    return account


def _audit(
    s: Session, actor: str, action: AuditAction, event: str, account: Account, text: str
) -> None:
    # Accounts decide who may see personal data: every change is logged like the data.
    append_audit(
        s,
        actor=actor,
        action=action,
        event=event,
        object_type="account",
        object_id=account.id,
        justification=text,
    )


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
    username = _check_username(username)
    _check_password(password)
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
    role_value = _role(role)
    rank = _rank(role_value, rank)
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
        _audit(
            s,
            created_by,
            AuditAction.COLLECTION,
            "account_created",
            account,
            f"account {account.username} created with role {role_value.value}: {_reason(reason)}",
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
    role_value = _role(role)
    rank = _rank(role_value, rank)
    why = _reason(reason)
    pending = needs_second_admin(role_value, rank)
    with store.session() as s:
        _admin(s, actor)
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
        _audit(
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


def request_grant(
    store: Store, username: str, *, role: str, rank: str | None = None, actor: str, reason: str
) -> bool:
    """Gives an account a new role (replacing its one role) or rank; True when it waits for a
    second administrator, False when done at once (an operator, supervisor or auditor role
    with no rank). Nobody changes their own role."""
    role_value = _role(role)
    rank = _rank(role_value, rank)
    why = _reason(reason)
    with store.session() as s:
        _admin(s, actor)
        account = _account(s, username)
        if account.username == actor:
            raise AccountError("you cannot change your own role or rank")
        if (
            s.scalar(
                select(AccountGrant.id).where(
                    AccountGrant.account_id == account.id,
                    AccountGrant.status == RequestStatus.PENDING.value,
                )
            )
            is not None
        ):
            raise AccountError(f"{account.username} already has a grant awaiting approval")
        what = f"role {role_value.value}" + (f", rank {rank}" if rank else "")
        if needs_second_admin(role_value, rank):
            s.add(
                AccountGrant(
                    account_id=account.id,
                    role=role_value.value,
                    rank=rank,
                    reason=why,
                    requested_by=actor,
                )
            )
            _audit(
                s,
                actor,
                AuditAction.ALTERATION,
                "account_grant_requested",
                account,
                f"{what} for {account.username} awaits a second administrator: {why}",
            )
            return True
        account.role, account.rank = role_value.value, rank
        end_sessions(s, account.id)  # a session must not outlive the role it was opened under
        _audit(
            s,
            actor,
            AuditAction.ALTERATION,
            "account_role_changed",
            account,
            f"{account.username} now has {what}: {why}",
        )
        return False


def decide_grant(store: Store, username: str, *, approve: bool, actor: str, reason: str) -> str:
    """A second administrator approves (the role or rank takes effect, a new account can log
    in) or rejects (a new account stays unusable) the pending grant of `username`."""
    why = _reason(reason)
    with store.session() as s:
        _admin(s, actor)
        account = _account(s, username)
        grant = s.scalar(
            select(AccountGrant).where(
                AccountGrant.account_id == account.id,
                AccountGrant.status == RequestStatus.PENDING.value,
            )
        )
        if grant is None:
            raise AccountError(f"{account.username} has no grant awaiting approval")
        if grant.requested_by == actor:
            raise AccountError(
                "a grant must be approved by an administrator other than the one who asked for it"
            )
        if account.username == actor:
            raise AccountError("you cannot decide a grant to your own account")
        status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        grant.status, grant.decided_by, grant.decided_at = status.value, actor, utcnow()
        grant.decision_note = why
        if approve:
            account.role, account.rank, account.awaiting_approval = grant.role, grant.rank, False
            end_sessions(s, account.id)
        what = f"role {grant.role}" + (f", rank {grant.rank}" if grant.rank else "")
        _audit(
            s,
            actor,
            AuditAction.ALTERATION,
            f"account_grant_{status.value}",
            account,
            f"{what} for {account.username} (asked by {grant.requested_by}) {status.value}: {why}",
        )
        return status.value


def pending_grants(store: Store) -> list[GrantView]:
    with store.session() as s:
        rows = s.execute(
            select(AccountGrant, Account)
            .join(Account, Account.id == AccountGrant.account_id)
            .where(AccountGrant.status == RequestStatus.PENDING.value)
            .order_by(AccountGrant.id)
        ).all()
        return [
            GrantView(
                g.id,
                a.username,
                g.role,
                g.rank,
                g.reason,
                g.requested_by,
                g.requested_at.isoformat(),
                a.awaiting_approval,
            )
            for g, a in rows
        ]


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
    why = _reason(reason)
    with store.session() as s:
        account = _account(s, username)
        if disabled and account.username == actor:
            # An administrator locking themselves out may leave nobody able to undo it.
            raise AccountError("you cannot disable your own account")
        account.disabled = disabled
        if disabled:
            end_sessions(s, account.id)
        state = "disabled" if disabled else "enabled"
        _audit(
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
    the old password (a stolen admin session must not become the admin's password). Every
    session and token of the account ends. Audited (the password itself never is)."""
    _check_password(password)
    why = _reason(reason)
    with store.session() as s:
        account = _account(s, username)
        if account.username == actor:
            try:
                _HASHER.verify(account.password_hash, old_password or "")
            except (VerificationError, InvalidHashError):
                raise AccountError(
                    "your own password is changed only with the old password (old_password)"
                ) from None
        account.password_hash = _HASHER.hash(password)
        end_sessions(s, account.id)
        _audit(
            s,
            actor,
            AuditAction.ALTERATION,
            "password_reset",
            account,
            f"password of {account.username} reset: {why}",
        )
