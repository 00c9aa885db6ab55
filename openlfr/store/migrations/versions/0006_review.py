"""Deployment review: returned / refused / withdrawn drafts, the authorising officer's reasons and
conditions, the last review's note, and why a run ended (and whether on an error).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "status IN ('draft', 'authorised', 'live', 'ended')"
_NEW = "status IN ('draft', 'returned', 'refused', 'withdrawn', 'authorised', 'live', 'ended')"


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_constraint(op.f("ck_deployments_status_known"), type_="check")
        batch.create_check_constraint("status_known", _NEW)
        batch.add_column(sa.Column("authorisation_reasons", sa.Text(), nullable=True))
        batch.add_column(sa.Column("authorisation_conditions", sa.Text(), nullable=True))
        batch.add_column(sa.Column("review_note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("end_reason", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("run_failed", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        for col in (
            "run_failed",
            "end_reason",
            "reviewed_at",
            "reviewed_by",
            "review_note",
            "authorisation_conditions",
            "authorisation_reasons",
        ):
            batch.drop_column(col)
        batch.drop_constraint(op.f("ck_deployments_status_known"), type_="check")
        batch.create_check_constraint("status_known", _OLD)
