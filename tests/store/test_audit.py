"""The audit log's hash chain: it verifies when untouched and names the first bad row when not."""

from __future__ import annotations

import hashlib
import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, select, text

from openlfr.store import (
    AuditAction,
    AuditError,
    Store,
    append_audit,
    audit_head,
    export_audit,
    verify_audit,
)
from openlfr.store import audit as audit_module
from openlfr.store import models as m
from openlfr.store.audit import compute_row_hash, entry_hash

ZEROS = "0" * 64

# One row's canonical form, written out by hand from the module's documented rule (JSON of the
# row's own fields and the previous hash, keys sorted, no spaces, UTF-8 left unescaped, `detail`
# as its stored canonical JSON text, `at` in ISO 8601 with its offset), and its SHA-256 computed
# once from that text. Changing the form silently orphans every published audit head.
GOLDEN_AT = datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
GOLDEN_CANONICAL = (
    '{"action":"disclosure","actor":"pc.smith","at":"2024-01-02T03:04:05.678901+00:00",'
    '"detail":"{\\"n\\":1,\\"note\\":\\"ünïcode\\"}","event":"alert_disclosed","id":1,'
    '"justification":"file requested by the CPS","object_id":"42","object_type":"alert",'
    f'"prev_hash":"{ZEROS}","recipient":"CPS"}}'
)
GOLDEN_HASH = "1f8119e7ac67fd5bad3f8f212ca9974d4f9cbccb980fced21811ce0b67e67c2c"


def _fill(store: Store, n: int = 6) -> None:
    with store.session() as s:
        for i in range(1, n + 1):
            append_audit(
                s,
                actor=f"officer-{i}",
                action=list(AuditAction)[i % 6],
                object_type="subject",
                object_id=i,
                justification=f"reason {i}",
                recipient="CPS" if list(AuditAction)[i % 6] is AuditAction.DISCLOSURE else None,
                detail={"n": i, "note": "ünïcode"},
            )


def _tamper(store: Store, *statements: str) -> None:
    """Edit the log as a database administrator would: guards off, raw SQL, guards on."""
    with store.engine.begin() as conn:
        _guards(conn, enable=False)
        for statement in statements:
            conn.execute(text(statement))
        _guards(conn, enable=True)


def _guards(conn: Connection, *, enable: bool) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(f"ALTER TABLE audit_log {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")
        )
    elif enable:
        raise_ = "SELECT RAISE(ABORT, 'audit_log is append-only')"
        for op in ("UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
                    f"BEGIN {raise_}; END"
                )
            )
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))
        conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def _verify(store: Store) -> tuple[bool, int | None, str | None, int]:
    with store.sessions() as s:
        v = verify_audit(s)
    return v.ok, v.first_bad_id, v.reason, v.rows_checked


def test_chain_verifies(store: Store) -> None:
    with store.sessions() as s:
        assert verify_audit(s).ok and verify_audit(s).rows_checked == 0
    _fill(store)
    with store.sessions() as s:
        v = verify_audit(s)
        assert v.ok and v.rows_checked == 6 and v.first_bad_id is None
        rows = s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)).all()
        assert [r.id for r in rows] == [1, 2, 3, 4, 5, 6]
        assert rows[0].prev_hash == ZEROS
        for before, after in itertools.pairwise(rows):
            assert after.prev_hash == before.row_hash
        for row in rows:
            assert row.at.tzinfo is not None
            assert entry_hash(row) == row.row_hash
        assert audit_head(s) == (6, rows[-1].row_hash)


def test_row_hash_is_the_golden_value_of_the_documented_form() -> None:
    assert hashlib.sha256(GOLDEN_CANONICAL.encode("utf-8")).hexdigest() == GOLDEN_HASH
    got = compute_row_hash(
        id=1, at=GOLDEN_AT, actor="pc.smith", action="disclosure", event="alert_disclosed",
        object_type="alert", object_id="42", justification="file requested by the CPS",
        recipient="CPS", detail='{"n":1,"note":"ünïcode"}', prev_hash=ZEROS,
    )  # fmt: skip
    assert got == GOLDEN_HASH


def test_stored_row_carries_the_golden_hash(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path (detail canonicalised, stored, read back on this backend) gives it too."""
    monkeypatch.setattr(audit_module, "utcnow", lambda: GOLDEN_AT)
    with store.session() as s:
        append_audit(
            s, actor="pc.smith", action=AuditAction.DISCLOSURE, event="alert_disclosed",
            object_type="alert", object_id=42, justification="file requested by the CPS",
            recipient="CPS", detail={"note": "ünïcode", "n": 1},
        )  # fmt: skip
    with store.sessions() as s:
        row = s.get_one(m.AuditEntry, 1)
        assert row.detail == '{"n":1,"note":"ünïcode"}'
        assert (row.row_hash, row.at) == (GOLDEN_HASH, GOLDEN_AT)
        assert audit_head(s) == (1, GOLDEN_HASH)
        assert verify_audit(s).ok


def test_chain_continues_across_sessions(store: Store) -> None:
    _fill(store, 2)
    _fill(store, 2)
    assert _verify(store)[0:2] == (True, None)


def test_update_detected(store: Store) -> None:
    _fill(store)
    _tamper(store, "UPDATE audit_log SET justification = 'nothing to see' WHERE id = 3")
    ok, bad, reason, checked = _verify(store)
    assert (ok, bad, checked) == (False, 3, 2)
    assert reason is not None and "altered" in reason


def test_update_of_hash_too_detected_at_next_row(store: Store) -> None:
    _fill(store)
    with store.sessions() as s:
        row = s.get_one(m.AuditEntry, 3)
        row.actor = "someone-else"
        forged = entry_hash(row)
        s.rollback()
    _tamper(
        store, f"UPDATE audit_log SET actor = 'someone-else', row_hash = '{forged}' WHERE id = 3"
    )
    ok, bad, reason, _ = _verify(store)
    assert (ok, bad) == (False, 4)
    assert reason is not None and "does not chain" in reason


def test_delete_of_middle_row_detected(store: Store) -> None:
    _fill(store)
    _tamper(store, "DELETE FROM audit_log WHERE id = 3")
    ok, bad, reason, _ = _verify(store)
    assert (ok, bad) == (False, 3)
    assert reason is not None and "missing" in reason


def test_delete_of_middle_row_with_ids_closed_up_detected(store: Store) -> None:
    _fill(store)
    _tamper(
        store,
        "DELETE FROM audit_log WHERE id = 3",
        "UPDATE audit_log SET id = id + 1000 WHERE id > 3",
        "UPDATE audit_log SET id = id - 1001 WHERE id > 1000",
    )
    ok, bad, _, _ = _verify(store)
    assert (ok, bad) == (False, 3)


def test_delete_of_last_row_detected_via_head(store: Store) -> None:
    _fill(store)
    _tamper(store, "DELETE FROM audit_log WHERE id = 6")
    ok, bad, reason, _ = _verify(store)
    assert (ok, bad) == (False, 6)
    assert reason is not None and "missing from the end" in reason
    # Appending after the deletion does not paper over it: the chain continues from the head.
    with store.session() as s:
        append_audit(
            s, actor="a", action="consultation", object_type="x", object_id=1, justification="j"
        )
    assert _verify(store)[0:2] == (False, 6)


def _forged_row_sql(store: Store, row_id: int, prev_hash: str, *, good_hash: bool) -> str:
    at = datetime(2025, 1, 1, tzinfo=UTC)
    fields = dict(
        id=row_id,
        at=at,
        actor="mallory",
        action="erasure",
        event=None,
        object_type="subject",
        object_id="99",
        justification="forged",
        recipient=None,
        detail=None,
        prev_hash=prev_hash,
    )
    row_hash = compute_row_hash(**fields) if good_hash else "f" * 64  # type: ignore[arg-type]
    at_sql = (
        "2025-01-01 00:00:00.000000"
        if store.engine.dialect.name == "sqlite"
        else ("2025-01-01 00:00:00+00")
    )
    return (
        "INSERT INTO audit_log (id, at, actor, action, object_type, object_id, justification, "
        f"prev_hash, row_hash) VALUES ({row_id}, '{at_sql}', 'mallory', 'erasure', 'subject', "
        f"'99', 'forged', '{prev_hash}', '{row_hash}')"
    )


@pytest.mark.parametrize("good_hash", [False, True], ids=["naive-forgery", "rehashed-forgery"])
def test_insert_in_middle_detected(store: Store, good_hash: bool) -> None:
    _fill(store)
    with store.sessions() as s:
        prev = s.get_one(m.AuditEntry, 2).row_hash
    _tamper(
        store,
        "UPDATE audit_log SET id = id + 1000 WHERE id >= 3",
        "UPDATE audit_log SET id = id - 999 WHERE id > 1000",
        _forged_row_sql(store, 3, prev, good_hash=good_hash),
    )
    ok, bad, reason, _ = _verify(store)
    # A forged row with a wrong hash fails itself; one hashed correctly breaks the next link.
    assert (ok, bad) == (False, 4 if good_hash else 3), reason


def test_row_appended_outside_openlfr_detected(store: Store) -> None:
    _fill(store)
    with store.sessions() as s:
        prev = s.get_one(m.AuditEntry, 6).row_hash
    _tamper(store, _forged_row_sql(store, 7, prev, good_hash=True))
    ok, bad, reason, _ = _verify(store)
    assert (ok, bad) == (False, 7), reason


def test_anchor_catches_full_rewrite(store: Store) -> None:
    _fill(store)
    with store.sessions() as s:
        anchor = audit_head(s)
        assert verify_audit(s, anchor=anchor).ok
        assert not verify_audit(s, anchor=(anchor[0], "e" * 64)).ok
        assert verify_audit(s, anchor=(99, anchor[1])).first_bad_id == 99


def test_concurrent_appends_keep_one_chain(store: Store) -> None:
    writers, per_writer = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def work(w: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with store.session() as s:
                    audit_head(s)  # a read first, as a service would, must not break locking
                    s.add(m.Subject(reference=f"W{w}-{i}", display_name="x", category="c"))
                    append_audit(
                        s,
                        actor=f"writer-{w}",
                        action=AuditAction.COLLECTION,
                        object_type="subject",
                        object_id=f"W{w}-{i}",
                        justification="concurrency test",
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    ok, _bad, reason, checked = _verify(store)
    assert ok, reason
    assert checked == writers * per_writer


def test_entry_rules(store: Store) -> None:
    with store.session() as s:
        with pytest.raises(AuditError, match="justification"):
            append_audit(
                s,
                actor="a",
                action="consultation",
                object_type="x",
                object_id=1,
                justification="  ",
            )
        with pytest.raises(AuditError, match="not one of"):
            append_audit(
                s, actor="a", action="peek", object_type="x", object_id=1, justification="j"
            )
        with pytest.raises(AuditError, match="recipient"):
            append_audit(
                s, actor="a", action="disclosure", object_type="x", object_id=1, justification="j"
            )
        with pytest.raises(AuditError, match="biometric"):
            append_audit(
                s,
                actor="a",
                action="collection",
                object_type="x",
                object_id=1,
                justification="j",
                detail={"embedding": b"\x00\x01"},
            )
        e = append_audit(
            s,
            actor="a",
            action="disclosure",
            object_type="alert",
            object_id=7,
            justification="court order",
            recipient="CPS",
            event="evidence_exported",
        )
        assert (e.id, e.event, e.recipient) == (1, "evidence_exported", "CPS")
    assert _verify(store)[0]


def test_export_audit(store: Store) -> None:
    _fill(store, 3)
    now = datetime.now(UTC)
    with store.sessions() as s:
        rows = export_audit(s, now - timedelta(minutes=5), now + timedelta(minutes=5))
        assert [r["id"] for r in rows] == [1, 2, 3]
        assert rows[0]["detail"] == {"n": 1, "note": "ünïcode"}
        assert rows[0]["prev_hash"] == ZEROS
        assert rows[0]["at"].endswith("+00:00")
        assert export_audit(s, now + timedelta(minutes=5), now + timedelta(minutes=10)) == []
