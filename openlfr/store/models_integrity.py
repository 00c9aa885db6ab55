"""Keyed bindings and signed audit checkpoints (issue 9): what an insider cannot forge.

``integrity_bindings`` holds one HMAC-SHA256 per row that decides who is alerted on or how
(a reference image and whose it is, a subject's category, a watchlist's members, a deployment's
authorisation). The key is derived from the blob key, outside the database, so a row edited in
SQL no longer matches its MAC and the row is refused where it is used.

``audit_checkpoints`` holds Ed25519 signatures over the audit chain's head, every N rows and at
each deployment's end: a re-chained or truncated log no longer matches a signed head.
Nothing here is personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.store.models import Base, UTCDateTime, utcnow


class IntegrityBinding(Base):
    """The MAC of one row's deciding fields; ``key_id`` names the MAC key (rotation)."""

    __tablename__ = "integrity_bindings"

    object_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditCheckpoint(Base):
    """A signed (audit id, row hash) head. Append-only, like the log it vouches for."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    audit_id: Mapped[int] = mapped_column(Integer, index=True)
    row_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(Text)


class IntegrityState(Base):
    """Single row: whether rows written before migration 0007 still await their bindings
    (``openlfr audit backfill``), and the audit head at the upgrade."""

    __tablename__ = "integrity_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    backfill_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    upgraded_at_audit_id: Mapped[int] = mapped_column(Integer, default=0)
