"""Issue 9 item 3: a database locked past the busy timeout by another connection is a clear
StoreBusy (a StoreError naming the file), never a raw OperationalError, and nothing is kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.config import StoreSettings
from openlfr.errors import StoreBusy, StoreError
from openlfr.store import AuditAction, append_audit, open_store
from openlfr.store import db as store_db
from openlfr.store.models import AuditEntry


def _append(s: Session) -> None:
    append_audit(s, actor="pc.tester", action=AuditAction.CONSULTATION,
                 object_type="thing", object_id=1, justification="reading")  # fmt: skip


def test_a_write_lock_held_past_the_busy_timeout_is_a_clear_store_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = StoreSettings(data_dir=tmp_path / "data")
    monkeypatch.setattr(store_db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store = open_store(settings)
    try:
        store.engine.dispose()  # new connections take the short timeout
        holder = sqlite3.connect(settings.data_dir / "openlfr.db", isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # a real second writer holds the lock
            with pytest.raises(StoreBusy) as caught, store.session() as s:
                _append(s)
            message = str(caught.value)
            assert isinstance(caught.value, StoreError)
            assert message.startswith("store busy: ") and "openlfr.db" in message
            assert "busy timeout (200 ms)" in message and "try again" in message
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        with store.session() as s:  # lock gone: nothing half-written, writes work again
            assert s.scalar(select(func.count(AuditEntry.id))) == 0
            _append(s)
        with store.session() as s:
            assert s.scalar(select(func.count(AuditEntry.id))) == 1
    finally:
        store.dispose()
