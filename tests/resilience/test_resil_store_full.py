"""A full disk loses nothing and says so (non-negotiable 5). "Full" is SQLite's own: the test
store's connections get `PRAGMA max_page_count` at their current size, so a write that needs a
new page fails with "database or disk is full", as on a real full disk. Also: a data folder,
key file or database that cannot be created fails at `open_store` with one clear line."""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

import pytest
from resil_support import cap_pages, katie_spec, login_env
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.config import StoreSettings
from openlfr.errors import StoreError, StoreFull
from openlfr.service.context import AppContext
from openlfr.service.enrolment import enrol_subject
from openlfr.service.runs import run_deployment
from openlfr.store import db as store_db
from openlfr.store import models as m
from openlfr.store import open_store, verify_audit


@pytest.fixture
def backend() -> str:
    """SQLite only: "full" here is SQLite's own max_page_count, and the key file and database
    file that cannot be written are SQLite's; PostgreSQL has neither (its full disk is the
    server's, out of a test's reach)."""
    return "sqlite"


def _count(ctx: AppContext, model: type[m.Base]) -> int:
    with ctx.store.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _healthy(ctx: AppContext) -> None:
    with ctx.store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    with ctx.store.session() as s:
        assert verify_audit(s).ok


def test_enrolment_into_a_full_store_is_refused_cleanly(
    ctx: AppContext, katie_ref: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ctx.store.location
    lift = cap_pages(ctx.store.engine)
    with pytest.raises(StoreFull) as caught:
        enrol_subject(ctx, reference="SUBJ-2", display_name="S", category="suspect",
                      images=[katie_spec(katie_ref)])  # fmt: skip
    message = str(caught.value)
    assert message == f"store full: {db}: database or disk is full", message
    lift()
    assert _count(ctx, m.ReferenceImage) == 0  # no half-sealed image, no placeholder blob
    _healthy(ctx)
    # The same enrolment goes through once there is room: nothing was left in the way.
    assert enrol_subject(ctx, reference="SUBJ-2", display_name="S", category="suspect",
                         images=[katie_spec(katie_ref)]).enrolled  # fmt: skip

    # The CLI: one line naming the file and the cause, exit 2, no traceback.
    real_pragmas = store_db._sqlite_pragmas

    def full(dbapi_conn: object, record: object) -> None:
        real_pragmas(dbapi_conn, record)
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cur.execute("PRAGMA max_page_count = 1")  # never below the current size: "full now"
        cur.close()

    monkeypatch.setenv("COLUMNS", "4000")
    before = _count(ctx, m.ReferenceImage)
    env = login_env(ctx.store, "supervisor")  # before the store is "full"
    monkeypatch.setattr(store_db, "_sqlite_pragmas", full)
    result = CliRunner().invoke(
        app,
        ["--store-dir", str(ctx.settings.store.data_dir), "enrol",
         str(katie_ref), "--ref", "SUBJ-3", "--category", "suspect", "--source", "CUST-9",
         "--outcome", "charged", "--age", "30", "--captured", "2024-01-01"],
        env=env,
    )  # fmt: skip
    monkeypatch.setattr(store_db, "_sqlite_pragmas", real_pragmas)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert f"error: store full: {db}: database or disk is full" in result.output
    assert "Traceback" not in result.output
    assert _count(ctx, m.ReferenceImage) == before
    _healthy(ctx)


def test_an_alert_that_cannot_be_stored_stops_its_camera_loudly(
    ctx: AppContext, katie_deployment: int, caplog: pytest.LogCaptureFixture
) -> None:
    db = ctx.store.location
    audit_before = _count(ctx, m.AuditEntry)
    lift = cap_pages(ctx.store.engine, spare_pages=1)  # small rows fit; an alert's crop does not
    with caplog.at_level(logging.ERROR):
        summary = run_deployment(ctx, katie_deployment)
    lift()
    (cam,) = summary.cameras
    # Stopped at the first alert it could not store, not at the clip's end (200 frames).
    assert cam.end_reason.startswith(f"store full: {db}: database or disk is full; alert on "
                                     "track "), cam.end_reason  # fmt: skip
    assert cam.end_reason.endswith("not stored")
    assert 0 < cam.frames < 200 and cam.alerts == 1
    assert summary.alert_ids == [] and _count(ctx, m.Alert) == 0
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("store full" in msg and "not stored" in msg for msg in logged), logged
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, katie_deployment)
        assert dep is not None and dep.status == "ended"
        (counter,) = s.scalars(select(m.DeploymentCounter))
        # The counters were saved (in place: a full store still takes them), with the reason.
        assert counter.frames == cam.frames > 0 and counter.faces == cam.faces > 0
        assert counter.end_reason == cam.end_reason and counter.ended_at is not None
        events = list(s.scalars(select(m.AuditEntry.event).where(m.AuditEntry.id > audit_before)))
        assert "alert_raised" not in events  # no audit entry for an alert that is not there
    _healthy(ctx)


def test_an_unwritable_data_dir_key_file_or_database_is_named_at_open(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n")  # root ignores modes: a path under a file fails anyway
    ok = tmp_path / "ok"
    cases = {
        "data folder": (StoreSettings(data_dir=blocker / "sub"), blocker / "sub"),
        "key file": (
            StoreSettings(data_dir=ok / "a", key_file=blocker / "keys" / "blob.key"),
            blocker / "keys",
        ),
        "database": (
            StoreSettings(data_dir=ok / "b", database_url=f"sqlite:///{blocker}/sub/o.db"),
            blocker / "sub",
        ),
    }
    for what, (settings, named) in cases.items():
        with pytest.raises(StoreError) as caught:
            open_store(settings)
        assert str(caught.value) == f"cannot write {named}: Not a directory", what
    # An existing folder where the database file should be: named, before SQLite is even asked.
    (ok / "c" / "openlfr.db").mkdir(parents=True)
    with pytest.raises(StoreError, match=r"^cannot write .*openlfr\.db: Is a directory"):
        open_store(StoreSettings(data_dir=ok / "c"))
    # The CLI: one line, exit 2.
    result = CliRunner().invoke(app, ["--store-dir", str(blocker / "sub"), "alerts", "list"])
    assert result.exit_code == 2
    assert f"error: cannot write {blocker / 'sub'}: Not a directory" in result.output


def test_no_space_for_the_key_file_is_store_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def enospc(path: str, flags: int, mode: int = 0o777) -> int:
        if str(path).endswith("blob.key"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", enospc)
    settings = StoreSettings(data_dir=tmp_path / "d")
    with pytest.raises(StoreFull) as caught:
        open_store(settings)
    key = settings.resolved_key_file()
    assert str(caught.value) == f"store full: {key}: No space left on device"
    assert not key.exists()
