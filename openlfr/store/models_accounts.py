"""Tables of the operator service: accounts, server-side sessions and pending exceptional
reasons. Kept apart from ``models`` so the pipeline's tables stay readable on one page."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from openlfr.store.models import Base, UTCDateTime, _in, utcnow


class Role(StrEnum):
    """One role per account: each sees only what its work needs (least privilege)."""

    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    AUTHORISING_OFFICER = "authorising_officer"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # Retrospective search only (R17): searches the custody estate and sees its candidates.
    INVESTIGATOR = "investigator"


class SessionKind(StrEnum):
    COOKIE = "cookie"
    BEARER = "bearer"


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint(_in("role", Role), name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    # Police rank, needed for an authorising officer: authorisation takes it from the account,
    # never from a form field, so nobody can authorise under a rank they do not hold.
    rank: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, salt inside
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # True while the account's first grant (admin or authorising-officer role, or a rank)
    # waits for a second administrator: it cannot log in, and enabling it does not change that.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class WebSession(Base):
    """A page session or an API token. Only the token's SHA-256 is stored: a read of this table
    (a backup, a replica) does not yield a usable credential."""

    __tablename__ = "web_sessions"
    __table_args__ = (CheckConstraint(_in("kind", SessionKind), name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    client: Mapped[str | None] = mapped_column(String(64))


class ExceptionalRequest(Base):
    """A custody image whose case ended without conviction, held back until a supervisor other
    than the requester approves its exceptional reason (R3). The image is sealed like any
    reference image and wiped once the request is decided."""

    __tablename__ = "exceptional_requests"
    __table_args__ = (
        CheckConstraint(_in("status", RequestStatus), name="status_known"),
        CheckConstraint("reason <> ''", name="reason_present"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_reference: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    source_ref: Mapped[str] = mapped_column(String(128))
    lawful_basis: Mapped[str] = mapped_column(Text)
    case_outcome: Mapped[str] = mapped_column(String(32))
    captured_on: Mapped[date | None] = mapped_column(Date)
    age_at_capture: Mapped[int | None] = mapped_column(Integer)
    under18_reason: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    image_blob: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    reference_image_id: Mapped[int | None] = mapped_column(ForeignKey("reference_images.id"))


class AccountGrant(Base):
    """A role or rank that only takes effect once a second administrator approves it: the
    admin and authorising-officer roles and any rank decide who may authorise deployments and
    who may hand out accounts, so no single administrator can confer them (issue 9)."""

    __tablename__ = "account_grants"
    __table_args__ = (
        CheckConstraint(_in("status", RequestStatus), name="status_known"),
        CheckConstraint(_in("role", Role), name="role_known"),
        CheckConstraint("reason <> ''", name="reason_present"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(32))
    rank: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING.value)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)


class LoginFailure(Base):
    """A failed log-in, counted against an account name and a client address by every server
    process on this store (service.sessions.login_locks). Only a SHA-256 of each is
    kept: a password typed into the name field must not land in the database. Rows older than
    the window are swept by the write that adds new ones."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
