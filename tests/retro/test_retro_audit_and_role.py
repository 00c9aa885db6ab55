"""The bulk audit append keeps the one hash chain, and the investigator role exists in the
database's own CHECK, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from openlfr.service.accounts import create_account
from openlfr.store import AuditAction, Store, append_audit, verify_audit
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.models import AuditEntry
from openlfr.store.models_accounts import Account, Role


def _drafts(n: int, tag: str) -> list[AuditDraft]:
    return [
        AuditDraft(
            AuditAction.ALTERATION,
            "custody_image_withdrawn",
            "custody_image",
            str(i),
            f"{tag} withdrawal {i}" + ("\n\tline two \\ back\r" if i % 7 == 0 else ""),
            {"rule": "R11", "i": i, "note": "é"},
        )
        for i in range(n)
    ]


def test_bulk_append_chains_with_single_appends(store: Store) -> None:
    with store.session() as s:
        append_audit(s, actor="a", action="consultation", object_type="x", object_id=1,
                     justification="before")  # fmt: skip
    with store.session() as s:
        # More than one executemany chunk, so the chain must carry across chunks.
        assert append_audit_many(s, actor="bulk", drafts=_drafts(20_005, "b")) == 20_005
    with store.session() as s:
        append_audit(s, actor="a", action="consultation", object_type="x", object_id=2,
                     justification="after")  # fmt: skip
    with store.session() as s:
        check = verify_audit(s)
        assert check.ok, check.reason
        assert check.rows_checked == 20_007
        ids = list(s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
        assert ids == list(range(1, 20_008))


def test_bulk_append_rolls_back_with_its_transaction(store: Store) -> None:
    with pytest.raises(RuntimeError), store.session() as s:
        append_audit_many(s, actor="bulk", drafts=_drafts(10, "gone"))
        raise RuntimeError("the act failed")
    with store.session() as s:
        assert s.scalar(select(AuditEntry.id).limit(1)) is None
        assert verify_audit(s).ok


def test_bulk_append_edit_detected(store: Store) -> None:
    with store.session() as s:
        append_audit_many(s, actor="bulk", drafts=_drafts(50, "t"))
    with store.session() as s:
        # The append-only triggers refuse an UPDATE: drop them as an attacker with DDL would.
        if store.engine.dialect.name == "sqlite":
            for (name,) in s.execute(
                text("SELECT name FROM sqlite_master WHERE type='trigger'")
            ).all():
                s.execute(text(f'DROP TRIGGER "{name}"'))
        else:
            s.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
        s.execute(update(AuditEntry).where(AuditEntry.id == 17).values(justification="forged"))
    with store.session() as s:
        check = verify_audit(s)
        assert not check.ok and check.first_bad_id == 17


def test_bulk_append_refuses_empty_justification(store: Store) -> None:
    from openlfr.store import AuditError

    bad = [AuditDraft(AuditAction.ERASURE, "e", "custody_image", "1", "  ")]
    with pytest.raises(AuditError), store.session() as s:
        append_audit_many(s, actor="bulk", drafts=bad)


def test_investigator_role_is_accepted_and_unknown_roles_are_not(store: Store) -> None:
    account_id = create_account(
        store, username="inv.one", password="a long enough password 1", role="investigator",
        created_by="test",
    )  # fmt: skip
    with store.session() as s:
        assert s.get(Account, account_id).role == Role.INVESTIGATOR.value  # type: ignore[union-attr]
    with pytest.raises(IntegrityError), store.session() as s:
        s.execute(update(Account).where(Account.id == account_id).values(role="superuser"))


def test_bulk_rows_read_back_exactly(store: Store) -> None:
    """COPY's text format (PostgreSQL) must store each field as given: NULLs, tabs, newlines,
    backslashes and non-ASCII text included."""
    drafts = _drafts(30, "x")
    with store.session() as s:
        append_audit_many(s, actor="bulk", drafts=drafts)
    with store.session() as s:
        got = s.execute(
            select(AuditEntry.justification, AuditEntry.recipient, AuditEntry.object_id).order_by(
                AuditEntry.id
            )
        ).all()
    assert [(g[0], g[1], g[2]) for g in got] == [
        (d.justification, None, d.object_id) for d in drafts
    ]
