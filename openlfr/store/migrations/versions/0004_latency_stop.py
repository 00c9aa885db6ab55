"""Face-to-alert latency and stopping a run from the web: alerts.frame_at (when the frame that
raised the alert was captured), deployments.stop_requested_at/_by (polled by the runner).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place, no table rebuild (the audit triggers and
    # foreign keys of the other tables are not disturbed). Alerts raised before this revision
    # keep frame_at NULL: their capture time was never recorded and is not invented.
    op.add_column("alerts", sa.Column("frame_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "deployments", sa.Column("stop_requested_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "deployments", sa.Column("stop_requested_by", sa.String(length=128), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("stop_requested_by")
        batch.drop_column("stop_requested_at")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("frame_at")
