"""Separation of duties: pending grants needing a second admin, account change reasons (issue 9).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A column with a server default: SQLite adds it in place (no table rebuild), and every
    # existing account stays usable.
    op.add_column(
        "accounts",
        sa.Column("awaiting_approval", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "account_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("rank", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f("ck_account_grants_status_known"),
        ),
        sa.CheckConstraint(
            "role IN ('operator', 'supervisor', 'authorising_officer', 'auditor', 'admin')",
            name=op.f("ck_account_grants_role_known"),
        ),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_account_grants_reason_present")),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_grants_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_grants")),
    )
    op.create_index(op.f("ix_account_grants_account_id"), "account_grants", ["account_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_grants_account_id"), table_name="account_grants")
    op.drop_table("account_grants")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("awaiting_approval")
