"""Per-camera analysed / skipped / dropped counters and downtime (issue 10).

deployment_counters gains frames_skipped (frames beyond video.analysis_fps, never analysed),
reconnects (a live source's successful reconnections) and down_s (seconds a live source was
not delivering frames). `frames` stays the count of frames analysed, `frames_dropped` the
frames lost because analysis fell behind.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Added in place with a server default: rows of earlier runs read 0 (nothing was skipped
    # then: every frame was analysed or dropped), and no table rebuild is needed.
    op.add_column(
        "deployment_counters",
        sa.Column("frames_skipped", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "deployment_counters",
        sa.Column("reconnects", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column(
        "deployment_counters",
        sa.Column("down_s", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("deployment_counters") as batch:
        batch.drop_column("down_s")
        batch.drop_column("reconnects")
        batch.drop_column("frames_skipped")
