"""Tables of the system of record. Enumerated values are stored as strings with CHECK
constraints, so a bad value is refused by the database itself, not only by Python."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

GENESIS_HASH = "0" * 64


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every backend.

    SQLite has no time zone type and hands back naive values; without this a naive and an aware
    datetime would meet in a comparison and raise, or worse, a local time would pass for UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: openlfr stores UTC-aware times only")
        value = value.astimezone(UTC)
        # SQLite stores the text as given; dropping the offset keeps its lexical order correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, values: type[StrEnum]) -> str:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"


class AuditAction(StrEnum):
    """The six kinds of processing the Data Protection Act 2018 s62 requires to be logged."""

    COLLECTION = "collection"
    ALTERATION = "alteration"
    CONSULTATION = "consultation"
    DISCLOSURE = "disclosure"
    COMBINATION = "combination"
    ERASURE = "erasure"


class DeploymentStatus(StrEnum):
    """A draft (or one returned for changes) is edited by its supervisor; only a draft can be
    authorised; refused and withdrawn are final (a new draft is needed)."""

    DRAFT = "draft"
    RETURNED = "returned"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    AUTHORISED = "authorised"
    LIVE = "live"
    ENDED = "ended"


class AlertStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    FALSE_ALERT = "false_alert"
    NOT_ACTIONED = "not_actioned"


class Base(DeclarativeBase):
    # Deterministic constraint names: Alembic can then alter them later (SQLite batch mode needs
    # names to recreate tables).
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Subject(Base):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    flagged_for_review: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(Text)


class ReferenceImage(Base):
    __tablename__ = "reference_images"
    __table_args__ = (
        CheckConstraint("source_ref <> ''", name="source_ref_present"),
        CheckConstraint("lawful_basis <> ''", name="lawful_basis_present"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    source_ref: Mapped[str] = mapped_column(String(128))
    lawful_basis: Mapped[str] = mapped_column(Text)
    captured_on: Mapped[date | None] = mapped_column(Date)
    case_outcome: Mapped[str] = mapped_column(String(32))
    age_at_capture: Mapped[int | None] = mapped_column(Integer)
    under18_reason: Mapped[str | None] = mapped_column(Text)
    exceptional_reason: Mapped[str | None] = mapped_column(Text)
    exceptional_approved_by: Mapped[str | None] = mapped_column(String(128))
    image_sha256: Mapped[str] = mapped_column(String(64))
    image_blob: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_blob: Mapped[bytes] = mapped_column(LargeBinary)
    embedding_model: Mapped[str] = mapped_column(String(64))
    #: Cosine between the embeddings of the aligned face and of its mirror image, measured at
    #: enrolment (matching/reference_strength.py): low means a weak reference, missed more
    #: often. NULL for images enrolled before it was kept. A quality figure, not a template.
    mirror_agreement: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: R11: when image_blob and embedding_blob were emptied. The row stays (source, hash) so
    #: past watchlists and alerts still say which image they meant (R16).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Watchlist(Base):
    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128))
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    member_hash: Mapped[str | None] = mapped_column(String(64))
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WatchlistEntry(Base):
    __tablename__ = "watchlist_entries"
    __table_args__ = (
        UniqueConstraint(
            "watchlist_id", "reference_image_id", name="uq_watchlist_entries_watchlist_image"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        ForeignKey("watchlists.id", ondelete="CASCADE"), index=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    reference_image_id: Mapped[int] = mapped_column(ForeignKey("reference_images.id"))
    category: Mapped[str] = mapped_column(String(64))
    #: Reason wanted at compilation (issue 13, migration 0014); NULL if compiled before it.
    reason: Mapped[str | None] = mapped_column(String(64))


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (
        CheckConstraint(_in("status", DeploymentStatus), name="status_known"),
        CheckConstraint("end_at > start_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    location_reason: Mapped[str] = mapped_column(Text)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id"), index=True)
    threshold: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default=DeploymentStatus.DRAFT.value)
    authorised_by: Mapped[str | None] = mapped_column(String(128))
    authoriser_rank: Mapped[str | None] = mapped_column(String(64))
    authorised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    equality_note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A stop asked for from the web/API; the runner (in any process) polls it, so a deployment
    # run by a separate `openlfr deployment run` can be stopped without reaching its terminal.
    stop_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stop_requested_by: Mapped[str | None] = mapped_column(String(128))
    # The authorising officer's own words, published with the authorisation (R5).
    authorisation_reasons: Mapped[str | None] = mapped_column(Text)
    authorisation_conditions: Mapped[str | None] = mapped_column(Text)
    # The last refusal, return for changes or withdrawal: who, when and why.
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the run ended, and whether it ended on an error (no camera could run): the page and
    # the public record then say "did not run" rather than list it as an ordinary deployment.
    end_reason: Mapped[str | None] = mapped_column(Text)
    run_failed: Mapped[bool] = mapped_column(Boolean, default=False)


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(_in("status", AlertStatus), name="status_known"),
        Index("ix_alerts_deployment_raised", "deployment_id", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    track_id: Mapped[int] = mapped_column(Integer)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    reference_image_id: Mapped[int] = mapped_column(ForeignKey("reference_images.id"))
    score: Mapped[float] = mapped_column(Float)
    margin: Mapped[float] = mapped_column(Float)
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the frame that raised it was captured (live: the frame's own UTC stamp; file: when it
    # was decoded): raised_at - frame_at is the face-to-alert latency, queueing included.
    frame_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    probe_crop_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.PENDING.value)
    adjudicated_by: Mapped[str | None] = mapped_column(String(128))
    adjudicated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    adjudication_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(64))
    outcome_by: Mapped[str | None] = mapped_column(String(128))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: R10: when the probe crop was deleted; the row stays for the published counts.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeploymentCounter(Base):
    """Counts only. Nothing here may identify or describe a face (R8)."""

    __tablename__ = "deployment_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"), index=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    frames: Mapped[int] = mapped_column(Integer, default=0)  # analysed
    frames_dropped: Mapped[int] = mapped_column(Integer, default=0)  # analysis behind
    # Beyond video.analysis_fps, skipped before analysis (issue 10; migration 0009).
    frames_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    faces: Mapped[int] = mapped_column(Integer, default=0)
    tracks: Mapped[int] = mapped_column(Integer, default=0)
    embedded: Mapped[int] = mapped_column(Integer, default=0)
    # Reconnections of a live source, and seconds it was down (not delivering frames).
    reconnects: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    down_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(Text)
    # Heartbeat: set at every save and every ~2 s by the runner's supervisor, so a run whose
    # process died is found (service.recovery). Set from the start, so a beat never grows the row.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One row of the hash-chained processing log. Append-only: triggers refuse UPDATE/DELETE.

    ``id`` is allocated by ``append_audit`` under a lock (never by a sequence), so ids are
    gap-free and a gap means a deleted row.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        CheckConstraint(_in("action", AuditAction), name="action_known"),
        CheckConstraint("justification <> ''", name="justification_present"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(128))
    justification: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "event": self.event,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "justification": self.justification,
            "recipient": self.recipient,
            "detail": self.detail,
            "prev_hash": self.prev_hash,
            "row_hash": self.row_hash,
        }


class AuditHead(Base):
    """Single row: the id and hash of the last audit entry.

    The next entry chains from here, not from whatever row happens to be last, so deleting the
    tail and then appending still leaves a gap. Updating this row is also the lock that
    serialises appenders on every backend.
    """

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


# The operator service keeps its tables in their own module; importing it here puts them in
# Base.metadata, which Alembic and missing_tables() read.
# So does retention's membership manifest (R16).
from openlfr.store import models_accountability as models_accountability  # noqa: E402
from openlfr.store import models_accounts as models_accounts  # noqa: E402
from openlfr.store import models_custody as models_custody  # noqa: E402
from openlfr.store import models_governance as models_governance  # noqa: E402
from openlfr.store import models_integrity as models_integrity  # noqa: E402
from openlfr.store import models_sightings as models_sightings  # noqa: E402
