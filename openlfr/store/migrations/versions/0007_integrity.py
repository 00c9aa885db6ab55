"""Integrity an insider cannot fake: keyed bindings, signed audit checkpoints (issue 9).

A database that already holds data when upgraded is marked ``backfill_pending``: its rows get
their bindings from ``openlfr audit backfill`` (run once by an administrator, who thereby vouches
for the rows as they stand; audited). Until then runs refuse unbound rows. Migrations have no
keys, so they cannot compute MACs themselves.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As audit_log: the triggers stop the casual edit; the signatures make any other edit visible.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints "
    "BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE TRIGGER audit_checkpoints_no_update_delete BEFORE UPDATE OR DELETE "
    "ON audit_checkpoints FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def upgrade() -> None:
    op.create_table(
        "integrity_bindings",
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("object_type", "object_id", name=op.f("pk_integrity_bindings")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(
        op.f("ix_audit_checkpoints_audit_id"), "audit_checkpoints", ["audit_id"], unique=False
    )
    state = op.create_table(
        "integrity_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("backfill_pending", sa.Boolean(), nullable=False),
        sa.Column("upgraded_at_audit_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrity_state")),
    )
    bind = op.get_bind()
    head = bind.execute(sa.text("SELECT last_id FROM audit_head WHERE id = 1")).scalar() or 0
    has_rows = any(
        bind.execute(sa.text(f"SELECT 1 FROM {t} LIMIT 1")).first() is not None
        for t in ("subjects", "reference_images", "watchlists", "deployments")
    )
    op.bulk_insert(
        state, [{"id": 1, "backfill_pending": has_rows, "upgraded_at_audit_id": int(head)}]
    )
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(bind.dialect.name, [])
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in ("audit_checkpoints_no_update", "audit_checkpoints_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {statement}")
    op.drop_table("integrity_state")
    op.drop_index(op.f("ix_audit_checkpoints_audit_id"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("integrity_bindings")
