"""Issue 9, insider edit 3: the audit log edited in SQL with the triggers dropped.

Rows are appended through openlfr (checkpoints signed every 10 rows here), then the insider
truncates, rewinds the head, rewrites and re-chains with the project's own hash function. The
old hash-chain check alone passes several of these; `openlfr audit verify` must not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from insider_support import (
    CHECKPOINT_EVERY,
    append_rows,
    cli,
    drop_triggers,
    rechain_from,
    sql,
    verify,
)

from openlfr.config import StoreSettings
from openlfr.store import Store, open_store, verify_audit
from openlfr.store.crypto import BlobKeyError
from openlfr.store.integrity_keys import signing_key_path

ROWS = 35


@pytest.fixture
def logged(store: Store) -> Store:
    append_rows(store, ROWS)
    return store


def test_an_untouched_log_verifies(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = verify(settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert (
        f"{ROWS} rows checked, {ROWS // CHECKPOINT_EVERY} signed checkpoints checked"
        in result.output
    )


def test_truncated_with_the_head_rewound_is_caught_by_a_checkpoint_and_by_the_anchor(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    anchor = tmp_path / "anchor.json"
    assert cli(settings, monkeypatch, "audit", "anchor", "--out", str(anchor)).exit_code == 0
    drop_triggers(settings)
    keep = 15  # rows 16.. go, with the checkpoints at 20, 30 and the anchor's
    [(last_hash,)] = sql(settings, "SELECT row_hash FROM audit_log WHERE id = :k", k=keep)
    sql(settings, "DELETE FROM audit_log WHERE id > :k",
        "UPDATE audit_head SET last_id = :k, last_hash = :h WHERE id = 1",
        k=keep, h=last_hash)  # fmt: skip
    with logged.session() as s:
        assert verify_audit(s).ok  # the chain alone is fooled
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1 and "audit_head rewound" in result.output, result.output
    # The thorough insider deletes the checkpoints past the cut too: only the anchor sees it.
    sql(settings, "DELETE FROM audit_checkpoints WHERE audit_id > :k", k=keep)
    assert verify(settings, monkeypatch).exit_code == 0
    anchored = verify(settings, monkeypatch, "--anchor", str(anchor))
    assert anchored.exit_code == 1 and "anchor" in anchored.output, anchored.output


def test_a_middle_row_rewritten_and_rechained_is_caught(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_triggers(settings)
    sql(settings, "UPDATE audit_log SET justification = 'nothing happened' WHERE id = 12")
    edited = verify(settings, monkeypatch)
    assert edited.exit_code == 1 and "row 12 was altered" in edited.output
    rechain_from(settings, 12)
    with logged.session() as s:
        assert verify_audit(s).ok  # the chain alone is fooled
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "re-chained" in result.output and "audit row 20" in result.output


@pytest.mark.parametrize("edit", ["insert", "delete"])
def test_a_row_inserted_or_deleted_is_named(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    drop_triggers(settings)
    if edit == "delete":
        sql(settings, "DELETE FROM audit_log WHERE id = 7")
        expected = "row 7 is missing"
    else:
        sql(settings, "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, "
            "justification, prev_hash, row_hash) SELECT 1000, at, actor, action, object_type, "
            "object_id, justification, row_hash, row_hash FROM audit_log "
            "WHERE id = 35")  # fmt: skip
        expected = "(next row is 1000)"
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1 and expected in result.output, result.output


def test_a_checkpoint_forged_with_another_key_is_named(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    drop_triggers(settings)
    sql(settings, "UPDATE audit_checkpoints SET key_id = 'feedfacefeedface' WHERE id = 2")
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1 and "checkpoint 2 is signed by an unknown key" in result.output


def test_rotating_the_signing_key_keeps_older_checkpoints_verifiable(
    logged: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openlfr.config import Settings
    from openlfr.service.audit_log import rotate_audit_key
    from openlfr.service.context import AppContext

    ctx = AppContext(Settings().model_copy(update={"store": settings}), logged, "admin")
    old, new = rotate_audit_key(ctx, "yearly rotation")
    assert old != new
    ctx.store.dispose()
    assert verify(settings, monkeypatch).exit_code == 0
    retired = signing_key_path(settings).parent / "audit-signing.pub"
    retired.unlink()  # without the retired public key, the old signatures are unverifiable
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1 and f"unknown key {old}" in result.output


def test_an_existing_database_without_its_key_refuses_to_open(
    logged: Store, settings: StoreSettings
) -> None:
    if settings.key:  # the key comes from settings (PostgreSQL fixture): drop it
        settings = settings.model_copy(update={"key": None})
        with pytest.raises(BlobKeyError, match="already exists"):
            open_store(settings)
        assert not settings.resolved_key_file().exists()  # no new key made
        return
    key_file = settings.resolved_key_file()
    assert settings.data_dir not in key_file.parents  # outside the data folder
    key_file.unlink()
    with pytest.raises(BlobKeyError, match="already exists but its blob key file"):
        open_store(settings)
    assert not key_file.exists()  # never silently replaced
