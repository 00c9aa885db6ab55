"""The custody estate (issue 11): every custody image imported, eligible or not.

Ineligible images are held too (sealed, never indexed, never searched) so that the estate
review can count them and deletion can erase them on schedule: an import that silently dropped
them would hide exactly the images the review exists to show (RMC & FJ [2012] EWHC 1681).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from openlfr.domain import CaseOutcome
from openlfr.store.models import Base, UTCDateTime, _in, utcnow


class CustodyImage(Base):
    __tablename__ = "custody_images"
    __table_args__ = (
        CheckConstraint("custody_id <> ''", name="custody_id_present"),
        CheckConstraint("person_ref <> ''", name="person_ref_present"),
        CheckConstraint(_in("case_outcome", CaseOutcome), name="case_outcome_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The custody record's own reference: the import is idempotent by it.
    custody_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_ref: Mapped[str] = mapped_column(String(64), index=True)
    case_outcome: Mapped[str] = mapped_column(String(32))
    captured_on: Mapped[date | None] = mapped_column(Date)
    age_at_capture: Mapped[int | None] = mapped_column(Integer)
    #: The domain rules' decision at import (R2-R4); withdrawal (R11) clears it.
    eligible: Mapped[bool] = mapped_column(Boolean, index=True)
    eligibility_rule: Mapped[str | None] = mapped_column(String(8))
    eligibility_reason: Mapped[str] = mapped_column(Text)
    image_sha256: Mapped[str] = mapped_column(String(64))  # keyed digest (store/integrity)
    image_blob: Mapped[bytes] = mapped_column(LargeBinary)  # sealed JPEG
    embedding_blob: Mapped[bytes] = mapped_column(LargeBinary)  # sealed float32 vector
    embedding_model: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(128))
    #: True once the vector is in the custody index: the sync adds the others (an import
    #: killed between its commit and the index write) without scanning the whole table.
    indexed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flagged_for_deletion_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When image_blob and embedding_blob were emptied; the row stays for the review (R16).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
