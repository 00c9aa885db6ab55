"""Engine, migrations, timestamps, constraints and atomicity, on real databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from openlfr.config import StoreSettings
from openlfr.store import (
    AuditAction,
    Store,
    append_audit,
    audit_head,
    make_engine,
    migrate,
    open_store,
    verify_audit,
)
from openlfr.store import models as m
from openlfr.store.db import alembic_config

EXPECTED_TABLES = {
    "subjects",
    "reference_images",
    "watchlists",
    "watchlist_entries",
    "deployments",
    "cameras",
    "alerts",
    "deployment_counters",
    "audit_log",
    "audit_head",
    "alembic_version",
}


def _subject(ref: str = "PNC-01/123456A") -> m.Subject:
    return m.Subject(reference=ref, display_name="A Person", category="wanted_by_courts")


def _image(store: Store, session: object, subject: m.Subject) -> m.ReferenceImage:
    img = m.ReferenceImage(
        subject_id=subject.id,
        source_ref="CUST-2024-0001",
        lawful_basis="PACE s64A",
        captured_on=date(2024, 3, 1),
        case_outcome="charged",
        image_sha256="ab" * 32,
        embedding_model="sface-2021dec",
    )
    return store.seal(session, img, image_blob=b"\xff\xd8jpeg", embedding_blob=b"\0" * 512)  # type: ignore[arg-type]


def test_migrate_creates_every_table(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert tables >= EXPECTED_TABLES
    assert set(m.Base.metadata.tables) <= tables
    with store.engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_migrate_is_idempotent(store: Store) -> None:
    migrate(store.engine)
    with store.session() as s:
        assert audit_head(s) == (0, "0" * 64)


def test_sqlite_pragmas(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000


def test_make_engine_creates_parent_dir(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "x.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert db.exists()


def test_open_store_default_location(tmp_path: Path) -> None:
    settings = StoreSettings(data_dir=tmp_path / "nested" / "data")
    store = open_store(settings)
    store.dispose()
    assert (tmp_path / "nested" / "data" / "openlfr.db").exists()
    # The keys sit beside the data folder, never in it: a copy of the folder carries no key.
    keys = tmp_path / "nested" / "data-keys"
    assert (keys / "blob.key").exists() and (keys / "audit-signing.key").exists()
    assert not (tmp_path / "nested" / "data" / "keys").exists()


def test_timestamps_read_back_utc_aware(store: Store) -> None:
    plus2 = timezone(timedelta(hours=2))
    start = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=plus2)
    with store.session() as s:
        wl = m.Watchlist(name="op", created_by="sgt")
        s.add(wl)
        s.flush()
        dep = m.Deployment(
            name="op",
            purpose="p",
            location="l",
            location_reason="r",
            start_at=start,
            end_at=start + timedelta(hours=4),
            watchlist_id=wl.id,
            threshold=0.5,
            created_by="sgt",
        )
        s.add(dep)
        s.flush()
        dep_id = dep.id
    with store.sessions() as s:
        dep = s.get_one(m.Deployment, dep_id)
        assert dep.start_at.tzinfo is not None
        assert dep.start_at.utcoffset() == timedelta(0)
        assert dep.start_at == start
        assert dep.start_at.hour == 10 and dep.start_at.microsecond == 123456
        assert dep.created_at.tzinfo is not None
        found = s.scalars(
            select(m.Deployment.id).where(
                m.Deployment.start_at < datetime(2025, 6, 1, 11, tzinfo=UTC)
            )
        ).all()
        assert found == [dep_id]


def test_naive_datetime_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"), store.session() as s:
        s.add(m.Watchlist(name="x", created_by="y", created_at=datetime(2025, 1, 1)))
        s.flush()


def test_foreign_keys_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(m.Camera(deployment_id=999, name="c", source="rtsp://x"))
        s.flush()


def test_status_check_constraint(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as s:
        wl = m.Watchlist(name="op", created_by="sgt")
        s.add(wl)
        s.flush()
        now = datetime.now(UTC)
        s.add(
            m.Deployment(
                name="op",
                purpose="p",
                location="l",
                location_reason="r",
                start_at=now,
                end_at=now + timedelta(hours=1),
                watchlist_id=wl.id,
                threshold=0.5,
                created_by="sgt",
                status="running-wild",
            )
        )
        s.flush()


def _counts(store: Store) -> dict[str, int]:
    with store.sessions() as s:
        return {
            t: s.scalar(select(func.count()).select_from(m.Base.metadata.tables[t])) or 0
            for t in ("subjects", "reference_images", "audit_log")
        }


def test_rollback_mid_operation_leaves_nothing(store: Store) -> None:
    before = _counts(store)
    with pytest.raises(RuntimeError, match="boom"), store.session() as s:
        subject = _subject()
        s.add(subject)
        s.flush()
        _image(store, s, subject)
        append_audit(
            s,
            actor="enrol-officer",
            action=AuditAction.COLLECTION,
            object_type="subject",
            object_id=subject.id,
            justification="enrolment for operation X",
        )
        raise RuntimeError("boom")
    assert _counts(store) == before
    with store.session() as s:
        assert audit_head(s) == (0, "0" * 64)
        assert verify_audit(s).ok


def test_database_error_mid_operation_rolls_back(store: Store) -> None:
    with store.session() as s:
        s.add(_subject("DUP-1"))
    before = _counts(store)
    with pytest.raises(IntegrityError), store.session() as s:
        subject = _subject("NEW-1")
        s.add(subject)
        s.flush()
        _image(store, s, subject)
        append_audit(
            s,
            actor="enrol-officer",
            action="collection",
            object_type="subject",
            object_id=subject.id,
            justification="enrolment",
        )
        s.add(_subject("DUP-1"))  # unique violation after everything else was written
        s.flush()
    assert _counts(store) == before
    with store.session() as s:
        assert verify_audit(s).ok
        # The store is usable afterwards, and the chain continues from where it was.
        entry = append_audit(
            s,
            actor="a",
            action="consultation",
            object_type="subject",
            object_id="1",
            justification="check",
        )
        assert entry.id == 1


def test_audit_log_is_append_only(store: Store) -> None:
    with store.session() as s:
        append_audit(
            s,
            actor="a",
            action="consultation",
            object_type="subject",
            object_id="1",
            justification="check",
        )
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET actor = 'mallory'"))
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    with store.session() as s:
        assert verify_audit(s).ok


def test_models_match_migrations(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, m.Base.metadata) == []
