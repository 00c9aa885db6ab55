"""Weak references kept (issue 12): each reference image's mirror agreement, measured at
enrolment, so the watchlist and the authorisation brief can say which entries are weak.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable, added in place. Images enrolled before keep NULL ("not measured"): measuring
    # them needs the decrypted image and the model, which a migration must not touch.
    op.add_column("reference_images", sa.Column("mirror_agreement", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reference_images") as batch:
        batch.drop_column("mirror_agreement")
