"""Public accountability (issue 13): advance notices (R19), reason wanted, subject access (R20).

Nothing here is biometric. A notice holds what the public is told (area, window, purpose in
plain words, watchlist size by category, rank); a reason wanted is one value of a closed list per
subject; a subject access row records that a disclosure was made, to whom, and its digest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.domain.notices import WithholdReason
from openlfr.domain.reasons import ReasonWanted
from openlfr.store.models import Base, UTCDateTime, _in, utcnow


class DeploymentNotice(Base):
    """The public notice of one authorised deployment, or the record that it was withheld."""

    __tablename__ = "deployment_notices"
    __table_args__ = (
        CheckConstraint(
            f"withheld_reason IS NULL OR {_in('withheld_reason', WithholdReason)}",
            name="withheld_reason_known",
        ),
        # Either published or withheld with a reason: never neither, never both.
        CheckConstraint(
            "(published_at IS NULL) <> (withheld_reason IS NULL)", name="published_or_withheld"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), unique=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    may_start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    notice_hours: Mapped[float] = mapped_column(Float)
    area: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: JSON object {category: people}.
    watchlist_size_by_category: Mapped[str] = mapped_column(Text)
    authorising_rank: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(Text)
    withheld_reason: Mapped[str | None] = mapped_column(String(32))
    withheld_note: Mapped[str | None] = mapped_column(Text)
    withheld_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubjectReason(Base):
    """Why a subject is sought (one value of the closed list, mapped to their category)."""

    __tablename__ = "subject_reasons"
    __table_args__ = (CheckConstraint(_in("reason", ReasonWanted), name="reason_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubjectAccessRequest(Base):
    """One subject access disclosure (R20): what was asked, for whom, to whom it went."""

    __tablename__ = "subject_access_requests"
    __table_args__ = (
        CheckConstraint("request_ref <> ''", name="request_ref_present"),
        CheckConstraint("recipient <> ''", name="recipient_present"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_ref: Mapped[str] = mapped_column(String(128))
    person_ref: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(200))
    held: Mapped[bool] = mapped_column(Boolean)
    produced_by: Mapped[str] = mapped_column(String(128))
    produced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: SHA-256 of the JSON disclosure, so a copy shown later can be checked against the record.
    disclosure_sha256: Mapped[str] = mapped_column(String(64))
