"""Camera counters and downtime in the record (issue 10).

No schema change: deployment_counters.down_s (and frames_skipped, reconnects) came with 0009;
this revision only keeps the chain's place for the issue.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
