"""Custody estate: custody images, import progress, index bookkeeping (issue 11).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported from the enum: a migration must keep meaning what it meant.
_OUTCOMES = (
    "pending",
    "charged",
    "convicted",
    "cautioned",
    "no_further_action",
    "acquitted",
    "discontinued",
)


def upgrade() -> None:
    when = sa.DateTime(timezone=True)
    op.create_table(
        "custody_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("custody_id", sa.String(length=64), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("case_outcome", sa.String(length=32), nullable=False),
        sa.Column("captured_on", sa.Date(), nullable=True),
        sa.Column("age_at_capture", sa.Integer(), nullable=True),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("eligibility_rule", sa.String(length=8), nullable=True),
        sa.Column("eligibility_reason", sa.Text(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_blob", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_blob", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("imported_by", sa.String(length=128), nullable=False),
        sa.Column("indexed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("withdrawn_at", when, nullable=True),
        sa.Column("flagged_for_deletion_at", when, nullable=True),
        sa.Column("erased_at", when, nullable=True),
        sa.CheckConstraint("custody_id <> ''", name=op.f("ck_custody_images_custody_id_present")),
        sa.CheckConstraint("person_ref <> ''", name=op.f("ck_custody_images_person_ref_present")),
        sa.CheckConstraint(
            "case_outcome IN (" + ", ".join(f"'{o}'" for o in _OUTCOMES) + ")",
            name=op.f("ck_custody_images_case_outcome_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_images")),
        sa.UniqueConstraint("custody_id", name=op.f("uq_custody_images_custody_id")),
    )
    op.create_index(op.f("ix_custody_images_person_ref"), "custody_images", ["person_ref"])
    op.create_index(op.f("ix_custody_images_eligible"), "custody_images", ["eligible"])


def downgrade() -> None:
    op.drop_index(op.f("ix_custody_images_eligible"), table_name="custody_images")
    op.drop_index(op.f("ix_custody_images_person_ref"), table_name="custody_images")
    op.drop_table("custody_images")
