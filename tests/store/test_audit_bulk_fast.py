"""The bulk audit append's fast paths (issue 11 reconciliation speed): the field-by-field hash
is `compute_row_hash` on any text, and the driver-level insert (SQLite) or COPY (PostgreSQL)
stores rows that the ORM reads back as written and `verify_audit` accepts."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from openlfr.store import AuditAction, Store, verify_audit
from openlfr.store.audit import compute_row_hash
from openlfr.store.audit_bulk import AuditDraft, _head, append_audit_many, row_hash_fast
from openlfr.store.models import AuditEntry

_maybe = st.none() | st.text()
# Quotes, backslashes, control characters, tabs and non-ASCII: what JSON and COPY escape.
_nasty = st.text(alphabet=st.sampled_from('a"\\\t\n\r\x00\x1f\u00e9\u2028\U0001f600 '))


@settings(max_examples=300, deadline=None)
@given(
    action=st.sampled_from([a.value for a in AuditAction]),
    actor=st.text(min_size=1),
    at=st.datetimes(timezones=st.just(UTC)),
    id=st.integers(1, 2**62),
    event=_maybe,
    object_type=st.text() | _nasty,
    object_id=st.text() | _nasty,
    justification=st.text() | _nasty,
    recipient=_maybe,
    detail=_maybe,
    prev=st.text(),
)
def test_the_fast_hash_is_compute_row_hash(
    action: str, actor: str, at: datetime, id: int, event: str | None, object_type: str,
    object_id: str, justification: str, recipient: str | None, detail: str | None, prev: str,
) -> None:  # fmt: skip
    expected = compute_row_hash(
        id=id, at=at, actor=actor, action=action, event=event, object_type=object_type,
        object_id=object_id, justification=justification, recipient=recipient, detail=detail,
        prev_hash=prev,
    )  # fmt: skip
    head = _head(action, actor, at.isoformat())
    got = row_hash_fast(
        head, id, event, object_type, object_id, justification, recipient, detail, prev
    )
    assert got == expected


def test_a_bulk_append_reads_back_as_written_and_verifies(store: Store) -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    odd = 'tab\there "quoted" back\\slash\nnew line \u00e9 \U0001f600'
    drafts = [
        AuditDraft(AuditAction.ALTERATION, "custody_image_withdrawn", "custody_image", str(i),
                   f"{odd} {i}", {"line": i, "why": odd} if i % 2 else None,
                   "someone" if i % 3 == 0 else None, "other.actor" if i % 4 == 0 else None)
        for i in range(1, 41)
    ]  # fmt: skip
    with store.session() as s:
        assert append_audit_many(s, actor="custody.export", drafts=drafts, at=at) == len(drafts)
    with store.session() as s:
        rows = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        s.expunge_all()  # plain values from here on, kept past the rollback below
        assert verify_audit(s).ok
        # The same time through SQLAlchemy's own insert: stored text identical to the fast path's.
        table = AuditEntry.__table__
        probe = {c.key: getattr(rows[-1], c.key) for c in table.c} | {"id": rows[-1].id + 1}
        s.execute(insert(table), [probe])  # type: ignore[arg-type]
        raw = s.connection().exec_driver_sql("SELECT id, at FROM audit_log ORDER BY id DESC")
        (_, ours), (_, theirs) = raw.all()[1::-1]
        assert str(ours) == str(theirs)
        s.rollback()
    bulk = rows[-len(drafts) :]
    assert [r.at for r in bulk] == [at] * len(drafts)
    for draft, row in zip(drafts, bulk, strict=True):
        assert row.justification == draft.justification
        assert row.object_id == draft.object_id
        assert row.recipient == draft.recipient
        assert row.actor == (draft.actor or "custody.export")
