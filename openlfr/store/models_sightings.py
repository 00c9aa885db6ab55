"""Sightings of an alert (issue 12 item 4): each time the same person was seen again on the
same deployment within the grouping window, one row, with its own sealed crop.

The first sighting of an alert is a row too (so an alert's sightings are all counted from one
table) but holds no crop of its own: its crop is the alert's probe crop, not stored twice. A
sighting exists only because its track matched (R8): nothing here comes from a non-match.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from openlfr.store.models import Base, UTCDateTime


class AlertSighting(Base):
    __tablename__ = "alert_sightings"
    __table_args__ = (Index("ix_alert_sightings_alert_seen", "alert_id", "seen_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"))
    track_id: Mapped[int] = mapped_column(Integer)
    frame_index: Mapped[int] = mapped_column(Integer)
    #: When the face was seen (capture time where known, else when it was stored).
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    score: Mapped[float] = mapped_column(Float)
    #: Sealed JPEG; NULL for the alert's first sighting (its crop is the alert's probe crop)
    #: and once the alert's data is purged (R10).
    crop_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
