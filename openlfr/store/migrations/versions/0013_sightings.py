"""Alert sightings: one alert per person per window (issue 12 item 4).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_sightings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("frame_index", sa.Integer(), nullable=False),
        sa.Column("seen_at", _TZ, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("crop_blob", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_sightings_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_alert_sightings_camera_id_cameras")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_sightings")),
    )
    op.create_index(
        op.f("ix_alert_sightings_alert_seen"), "alert_sightings", ["alert_id", "seen_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_sightings_alert_seen"), table_name="alert_sightings")
    op.drop_table("alert_sightings")
