"""Retrospective search, investigator role, estate review, deletion schedule (issue 11).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ROLES = ("operator", "supervisor", "authorising_officer", "auditor", "admin")
_OLD = "role IN (" + ", ".join(f"'{r}'" for r in _ROLES) + ")"
# The investigator searches the custody estate retrospectively and sees its candidates only.
_NEW = "role IN (" + ", ".join(f"'{r}'" for r in (*_ROLES, "investigator")) + ")"


#: Tables whose ``role`` column is checked against the Role enum (accounts: 0003; grants of a
#: role, awaiting approval: 0008).
_TABLES = ("accounts", "account_grants")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_role_known"), type_="check")
            batch.create_check_constraint("role_known", _NEW)


def downgrade() -> None:
    # Fails (the database refuses the old CHECK) while an investigator's account exists:
    # better than silently dropping accounts that the audit log names.
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_role_known"), type_="check")
            batch.create_check_constraint("role_known", _OLD)
