"""Reason wanted per watchlist entry and other issue 13 gaps.

Each watchlist entry, and the manifest row that outlives its purge (R16), records why the person
was sought when the watchlist was compiled, so the period report counts an alert by the reason
on the entry it came from, not by whatever the subject's reason says later. Rows compiled before
this revision keep NULL: readers fall back to the subject's recorded reason.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("watchlist_entries", "watchlist_manifest")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("reason", sa.String(length=64), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reason")
