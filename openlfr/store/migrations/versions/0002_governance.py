"""Retention: when alert data and reference images were erased, and the membership manifest that
answers who was on a watchlist after its purge (R9, R10, R11, R16).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: SQLite adds them in place, no table rebuild (the audit triggers and
    # foreign keys of the other tables are not disturbed).
    op.add_column("alerts", sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "reference_images", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "watchlist_manifest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("reference_image_id", sa.Integer(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.id"],
            name=op.f("fk_watchlist_manifest_watchlist_id_watchlists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_manifest")),
        sa.UniqueConstraint(
            "watchlist_id",
            "reference_image_id",
            name=op.f("uq_watchlist_manifest_watchlist_image"),
        ),
    )
    op.create_index(
        op.f("ix_watchlist_manifest_watchlist_id"), "watchlist_manifest", ["watchlist_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_watchlist_manifest_watchlist_id"), table_name="watchlist_manifest")
    op.drop_table("watchlist_manifest")
    with op.batch_alter_table("reference_images") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("purged_at")
