"""The membership manifest of purged watchlists (R16).

Purging a watchlist snapshot (R9) deletes its ``watchlist_entries``, the rows that tie a past
deployment to the biometric data it searched. Who was on that watchlist must still be answerable
afterwards (SWP practice cited in Bridges), so the purge first copies each entry's identifiers
here: subject reference, category, reference image id, image hash and custody source. Nothing in
this table is biometric: no image, no vector, no name.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.store.models import Base, UTCDateTime, utcnow


class WatchlistManifestEntry(Base):
    """One member image of a watchlist as it was frozen, kept after the watchlist's purge."""

    __tablename__ = "watchlist_manifest"
    __table_args__ = (
        UniqueConstraint(
            "watchlist_id", "reference_image_id", name="uq_watchlist_manifest_watchlist_image"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id"), index=True)
    subject_ref: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(64))
    # No foreign key: the manifest must outlive whatever later happens to the image row.
    reference_image_id: Mapped[int] = mapped_column(Integer)
    image_sha256: Mapped[str] = mapped_column(String(64))
    source_ref: Mapped[str] = mapped_column(String(128))
    #: The entry's reason wanted (issue 13, migration 0014); NULL if compiled before it.
    reason: Mapped[str | None] = mapped_column(String(64), default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
