"""Runner heartbeat: deployment_counters.updated_at, set at every counter save and by the
runner's supervising thread, so that a run whose process was killed can be told from a live one
(`recover_abandoned_runs`).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, added in place (no table rebuild). Rows saved before this revision keep NULL:
    # recovery then falls back on the counter's started_at rather than inventing a beat.
    op.add_column(
        "deployment_counters", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("deployment_counters") as batch:
        batch.drop_column("updated_at")
