"""Advance notices (R19), reason wanted, subject access requests (R20) (issue 13).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Literal copies of the closed lists as they stood at this revision (a later change to the
# enums needs a migration of its own, not a silent change to this one).
_WITHHOLD = "'threat_to_life', 'risk_of_serious_harm', 'missing_person_urgent', 'national_security'"
_REASONS = (
    "'failing_to_appear', 'recall_to_prison', 'breach_court_conditions', "
    "'breach_sexual_offence_conditions', 'vawg_offence', 'violent_offence', "
    "'acquisitive_offence', 'drugs_or_weapons_offence', 'missing_vulnerable', "
    "'mappa_management'"
)
_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deployment_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("published_at", _TZ, nullable=True),
        sa.Column("may_start_at", _TZ, nullable=False),
        sa.Column("notice_hours", sa.Float(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("start_at", _TZ, nullable=False),
        sa.Column("end_at", _TZ, nullable=False),
        sa.Column("watchlist_size_by_category", sa.Text(), nullable=False),
        sa.Column("authorising_rank", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("withheld_reason", sa.String(length=32), nullable=True),
        sa.Column("withheld_note", sa.Text(), nullable=True),
        sa.Column("withheld_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.CheckConstraint(
            f"withheld_reason IS NULL OR withheld_reason IN ({_WITHHOLD})",
            name=op.f("ck_deployment_notices_withheld_reason_known"),
        ),
        sa.CheckConstraint(
            "(published_at IS NULL) <> (withheld_reason IS NULL)",
            name=op.f("ck_deployment_notices_published_or_withheld"),
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_notices_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_notices")),
        sa.UniqueConstraint("deployment_id", name=op.f("uq_deployment_notices_deployment_id")),
    )
    op.create_table(
        "subject_reasons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", _TZ, nullable=False),
        sa.CheckConstraint(f"reason IN ({_REASONS})", name=op.f("ck_subject_reasons_reason_known")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_subject_reasons_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_reasons")),
        sa.UniqueConstraint("subject_id", name=op.f("uq_subject_reasons_subject_id")),
    )
    op.create_table(
        "subject_access_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_ref", sa.String(length=128), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("produced_by", sa.String(length=128), nullable=False),
        sa.Column("produced_at", _TZ, nullable=False),
        sa.Column("disclosure_sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "request_ref <> ''", name=op.f("ck_subject_access_requests_request_ref_present")
        ),
        sa.CheckConstraint(
            "recipient <> ''", name=op.f("ck_subject_access_requests_recipient_present")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subject_access_requests")),
    )


def downgrade() -> None:
    op.drop_table("subject_access_requests")
    op.drop_table("subject_reasons")
    op.drop_table("deployment_notices")
