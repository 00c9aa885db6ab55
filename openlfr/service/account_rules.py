"""What every account use-case shares: the refusal, the checks of a name, password, role,
rank and reason, the acting administrator's own account, and the audit entry of a change."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain import parse_rank
from openlfr.errors import OpenLFRError
from openlfr.store import AuditAction, append_audit
from openlfr.store.models_accounts import Account, Role

MIN_PASSWORD_LENGTH = 12


class AccountError(OpenLFRError):
    """An account could not be created or changed (duplicate name, weak password, missing
    rank, a grant that needs a second administrator)."""


def parse_role(role: str | Role) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise AccountError(f"role must be one of: {', '.join(r.value for r in Role)}") from None


def account_rank(role: Role, rank: str | None) -> str | None:
    if role is Role.AUTHORISING_OFFICER and not rank:
        raise AccountError("an authorising officer's account must record their rank")
    return parse_rank(rank).name.lower() if rank else None  # an unknown rank refused now


def reason_text(reason: str) -> str:
    if not reason.strip():
        raise AccountError("say why (it goes into the audit log)")
    return reason.strip()


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")


def check_username(username: str) -> str:
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace(".", "").replace("_", "").isalnum()
    ):
        raise AccountError("username: 1-64 letters, digits, '.' or '_'")
    return username


def account_named(s: Session, username: str) -> Account:
    account = s.scalar(select(Account).where(Account.username == username.strip()))
    if account is None:
        raise AccountError(f"no account {username!r}")
    return account


def active_admin(s: Session, actor: str) -> Account:
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


def audit_account(
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
