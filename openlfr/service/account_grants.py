"""Grants that wait for a second administrator: the admin and authorising-officer roles and
any rank (openlfr.domain.duties). Nobody asks for, or decides, a grant to their own account,
and the administrator who asked never approves it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from openlfr.domain.duties import needs_second_admin
from openlfr.service.account_rules import (
    AccountError,
    account_named,
    account_rank,
    active_admin,
    audit_account,
    parse_role,
    reason_text,
)
from openlfr.service.sessions import end_sessions
from openlfr.store import AuditAction, Store
from openlfr.store.models import utcnow
from openlfr.store.models_accounts import Account, AccountGrant, RequestStatus


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


def request_grant(
    store: Store, username: str, *, role: str, rank: str | None = None, actor: str, reason: str
) -> bool:
    """Gives an account a new role (replacing its one role) or rank; True when it waits for a
    second administrator, False when done at once (an operator, supervisor or auditor role
    with no rank). Nobody changes their own role."""
    role_value = parse_role(role)
    rank = account_rank(role_value, rank)
    why = reason_text(reason)
    with store.session() as s:
        active_admin(s, actor)
        account = account_named(s, username)
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
        if needs_second_admin(role_value.value, rank):
            s.add(
                AccountGrant(
                    account_id=account.id,
                    role=role_value.value,
                    rank=rank,
                    reason=why,
                    requested_by=actor,
                )
            )
            audit_account(
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
        audit_account(
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
    why = reason_text(reason)
    with store.session() as s:
        active_admin(s, actor)
        account = account_named(s, username)
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
        audit_account(
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
