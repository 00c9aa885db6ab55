"""Issue 9 item 2: bulk audit appends are signed like single ones, so a bulk row rewritten and
re-chained by an insider is caught by `openlfr audit verify`."""

from __future__ import annotations

import pytest
from insider_support import drop_triggers, rechain_from, sql, verify
from sqlalchemy import select

from openlfr.config import StoreSettings
from openlfr.store import AuditAction, Store
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.models_integrity import AuditCheckpoint


def _bulk(store: Store, n: int) -> None:
    drafts = [
        AuditDraft(AuditAction.CONSULTATION, None, "image", str(i), f"withdrawn {i}")
        for i in range(n)
    ]
    with store.session() as s:
        assert append_audit_many(s, actor="custody.export", drafts=drafts) == n


def _checkpoints(store: Store) -> list[tuple[int, int]]:
    with store.session() as s:
        return [(c.id, c.audit_id) for c in s.scalars(select(AuditCheckpoint))]


@pytest.mark.parametrize(("batches", "expected"), [([5], 0), ([25], 1), ([5, 3, 4], 1),
                                                   ([9, 1, 25], 2)])  # fmt: skip
def test_a_bulk_append_crossing_n_rows_is_signed_at_its_head(
    store: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch,
    batches: list[int], expected: int,
) -> None:  # fmt: skip
    for n in batches:
        _bulk(store, n)
    cps = _checkpoints(store)
    assert len(cps) == expected, cps
    heads = [sum(batches[: i + 1]) for i in range(len(batches))]
    assert all(audit_id in heads for _, audit_id in cps), (cps, heads)
    result = verify(settings, monkeypatch)
    assert result.exit_code == 0, result.output
    assert f"{sum(batches)} rows checked, {expected} signed checkpoints checked" in result.output


def test_a_bulk_row_rewritten_and_rechained_is_caught(
    store: Store, settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bulk(store, 25)
    drop_triggers(settings)
    sql(settings, "UPDATE audit_log SET justification = 'nothing to see' WHERE id = 7")
    rechain_from(settings, 7)
    result = verify(settings, monkeypatch)
    assert result.exit_code == 1, result.output
    assert "re-chained" in result.output, result.output
