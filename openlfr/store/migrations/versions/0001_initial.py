"""Initial schema: every table, the audit head row, and the triggers that make audit_log
append-only.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 17:08:16.028824
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GENESIS_HASH = "0" * 64

# A database user who can drop these triggers can still edit the log; the hash chain is what
# makes that edit visible. The triggers stop the honest mistake and the casual edit.
_SQLITE_TRIGGERS = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
_PG_TRIGGERS = [
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]


def _add_audit_guards() -> None:
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": _SQLITE_TRIGGERS, "postgresql": _PG_TRIGGERS}.get(dialect, [])
    for statement in statements:
        op.execute(statement)


def _drop_audit_guards() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("object_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("justification", sa.Text(), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "action IN ('collection', 'alteration', 'consultation', 'disclosure', "
            "'combination', 'erasure')",
            name=op.f("ck_audit_log_action_known"),
        ),
        sa.CheckConstraint("justification <> ''", name=op.f("ck_audit_log_justification_present")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    _add_audit_guards()
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer),
        sa.column("last_id", sa.Integer),
        sa.column("last_hash", sa.String),
    )
    op.bulk_insert(head, [{"id": 1, "last_id": 0, "last_hash": GENESIS_HASH}])

    op.create_table(
        "subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flagged_for_review", sa.Boolean(), nullable=False),
        sa.Column("flag_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subjects")),
        sa.UniqueConstraint("reference", name=op.f("uq_subjects_reference")),
    )
    op.create_table(
        "watchlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("frozen", sa.Boolean(), nullable=False),
        sa.Column("member_hash", sa.String(length=64), nullable=True),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlists")),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("location_reason", sa.Text(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("authorised_by", sa.String(length=128), nullable=True),
        sa.Column("authoriser_rank", sa.String(length=64), nullable=True),
        sa.Column("authorised_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("equality_note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'authorised', 'live', 'ended')",
            name=op.f("ck_deployments_status_known"),
        ),
        sa.CheckConstraint("end_at > start_at", name=op.f("ck_deployments_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["watchlist_id"], ["watchlists.id"], name=op.f("fk_deployments_watchlist_id_watchlists")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(op.f("ix_deployments_watchlist_id"), "deployments", ["watchlist_id"])

    op.create_table(
        "reference_images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=False),
        sa.Column("lawful_basis", sa.Text(), nullable=False),
        sa.Column("captured_on", sa.Date(), nullable=True),
        sa.Column("case_outcome", sa.String(length=32), nullable=False),
        sa.Column("age_at_capture", sa.Integer(), nullable=True),
        sa.Column("under18_reason", sa.Text(), nullable=True),
        sa.Column("exceptional_reason", sa.Text(), nullable=True),
        sa.Column("exceptional_approved_by", sa.String(length=128), nullable=True),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("image_blob", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_blob", sa.LargeBinary(), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "lawful_basis <> ''", name=op.f("ck_reference_images_lawful_basis_present")
        ),
        sa.CheckConstraint("source_ref <> ''", name=op.f("ck_reference_images_source_ref_present")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_reference_images_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_images")),
    )
    op.create_index(op.f("ix_reference_images_subject_id"), "reference_images", ["subject_id"])

    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f("fk_cameras_deployment_id_deployments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_index(op.f("ix_cameras_deployment_id"), "cameras", ["deployment_id"])

    op.create_table(
        "watchlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reference_image_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["reference_image_id"],
            ["reference_images.id"],
            name=op.f("fk_watchlist_entries_reference_image_id_reference_images"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_watchlist_entries_subject_id_subjects")
        ),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["watchlists.id"],
            name=op.f("fk_watchlist_entries_watchlist_id_watchlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_entries")),
        sa.UniqueConstraint(
            "watchlist_id", "reference_image_id", name=op.f("uq_watchlist_entries_watchlist_image")
        ),
    )
    op.create_index(op.f("ix_watchlist_entries_subject_id"), "watchlist_entries", ["subject_id"])
    op.create_index(
        op.f("ix_watchlist_entries_watchlist_id"), "watchlist_entries", ["watchlist_id"]
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("reference_image_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("first_frame", sa.Integer(), nullable=False),
        sa.Column("last_frame", sa.Integer(), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("probe_crop_blob", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("adjudicated_by", sa.String(length=128), nullable=True),
        sa.Column("adjudicated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adjudication_reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=64), nullable=True),
        sa.Column("outcome_by", sa.String(length=128), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'false_alert', 'not_actioned')",
            name=op.f("ck_alerts_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_alerts_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"], ["deployments.id"], name=op.f("fk_alerts_deployment_id_deployments")
        ),
        sa.ForeignKeyConstraint(
            ["reference_image_id"],
            ["reference_images.id"],
            name=op.f("fk_alerts_reference_image_id_reference_images"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subjects.id"], name=op.f("fk_alerts_subject_id_subjects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_deployment_raised"), "alerts", ["deployment_id", "raised_at"])
    op.create_index(op.f("ix_alerts_subject_id"), "alerts", ["subject_id"])

    op.create_table(
        "deployment_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), nullable=False),
        sa.Column("frames_dropped", sa.Integer(), nullable=False),
        sa.Column("faces", sa.Integer(), nullable=False),
        sa.Column("tracks", sa.Integer(), nullable=False),
        sa.Column("embedded", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_deployment_counters_camera_id_cameras")
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_deployment_counters_deployment_id_deployments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployment_counters")),
    )
    op.create_index(
        op.f("ix_deployment_counters_deployment_id"), "deployment_counters", ["deployment_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_deployment_counters_deployment_id"), table_name="deployment_counters")

    op.drop_table("deployment_counters")
    op.drop_index(op.f("ix_alerts_subject_id"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_deployment_raised"), table_name="alerts")

    op.drop_table("alerts")
    op.drop_index(op.f("ix_watchlist_entries_watchlist_id"), table_name="watchlist_entries")
    op.drop_index(op.f("ix_watchlist_entries_subject_id"), table_name="watchlist_entries")

    op.drop_table("watchlist_entries")
    op.drop_index(op.f("ix_cameras_deployment_id"), table_name="cameras")

    op.drop_table("cameras")
    op.drop_index(op.f("ix_reference_images_subject_id"), table_name="reference_images")

    op.drop_table("reference_images")
    op.drop_index(op.f("ix_deployments_watchlist_id"), table_name="deployments")

    op.drop_table("deployments")
    op.drop_table("watchlists")
    op.drop_table("subjects")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")

    _drop_audit_guards()
    op.drop_table("audit_log")
    op.drop_table("audit_head")
