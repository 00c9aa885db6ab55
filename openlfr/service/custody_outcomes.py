"""Case outcomes applied to the custody estate at scale (R11, R18).

A custody-system export names up to millions of custody records. Each one held in the estate
takes its new outcome; one that ends in no further action, acquittal or discontinuance is
withdrawn at once (``withdrawn_at``: it leaves every retrospective search in the same commit)
and flagged for deletion after the review period (``service/custody_retention.py``).

Only the image of that custody record is withdrawn, unlike a watchlist's reference images
(``case_outcomes._withdraw_subject``): a custody image's retention rests on its own matter's
outcome (RMC & FJ [2012] EWHC 1681; Custody Images Review 2017), and a person's image from a
matter that ended in conviction stays lawfully held.

Set-based, so that a million rows fit in a minute with their audit rows: the estate rows named
by the export are read in chunks by custody id, updated in chunks by id, and every alteration
is audited (one entry per image: the outcome change, and the withdrawal when there is one) by
``append_audit_many`` in the same transaction. All of it, or with an error none of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from openlfr.domain import cite, outcome_withdraws_images, parse_outcome
from openlfr.service.context import utcnow
from openlfr.service.custody_estate import among
from openlfr.store import AuditAction
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.models_custody import CustodyImage

if TYPE_CHECKING:  # case_outcomes imports this module
    from openlfr.service.case_outcomes import OutcomeChange, OutcomeResult

#: Custody ids per SELECT ... IN and image ids per UPDATE ... IN: well under every backend's
#: bound-parameter limit, few enough round trips for a million rows.
_CHUNK = 5_000
WITHDRAWN_EVENT = "custody_image_withdrawn"
CHANGED_EVENT = "custody_outcome_changed"


def _chunks(items: Sequence[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield list(items[i : i + _CHUNK])


def apply_custody_outcomes(
    s: Session,
    actor: str,
    changes: Sequence[OutcomeChange],
    results: Sequence[OutcomeResult],
    *,
    reason: str,
    received_at: datetime,
) -> list[int]:
    """Applies ``changes`` to the estate in ``s``; fills ``results``; returns the withdrawn ids.

    ``received_at``: when the outcomes reached openlfr (the file was opened); the withdrawal's
    audit entry keeps it beside its own time, so the estate review can say how long withdrawal
    took (R18)."""
    first: dict[str, int] = {}
    for i, change in enumerate(changes):
        first.setdefault(change.source_ref, i)  # a repeated row (same outcome) counts once
    refs = list(first)
    # Core statements on the session's connection (its transaction): the ORM's per-row
    # loading of a million tuples costs more than the query. Pending ORM changes go first.
    s.flush()
    conn = s.connection()
    live = CustodyImage.withdrawn_at.is_(None) & CustodyImage.erased_at.is_(None)
    cols = (CustodyImage.id, CustodyImage.custody_id, CustodyImage.case_outcome, live)
    rows: list[Any] = []  # (image id, custody id, stored outcome, held: not withdrawn or erased)
    for chunk in _chunks(refs):
        found = conn.execute(select(*cols).where(among(CustodyImage.custody_id, chunk, s)))
        rows += found.all()
    # (new outcome, withdraw?) -> image ids: one UPDATE per group and chunk.
    groups: dict[tuple[str, bool], list[int]] = {}
    drafts: list[AuditDraft] = []
    withdrawn: list[int] = []
    received = received_at.isoformat()
    tail = f": {reason}" if reason else ""
    r11 = cite("R11")
    # A million-row export holds a handful of distinct outcomes: parse each once.
    outcomes = {o: parse_outcome(o) for o in {r[2] for r in rows}}
    for image_id, custody_id, stored, held in rows:
        change = changes[first[custody_id]]
        result = results[first[custody_id]]
        result.custody_images += 1
        old = outcomes[stored]
        if old == change.outcome:
            continue
        withdraw = bool(held) and outcome_withdraws_images(old, change.outcome)
        groups.setdefault((change.outcome.value, withdraw), []).append(image_id)
        when = f" on {change.decided_on.isoformat()}" if change.decided_on else ""
        detail: dict[str, object] = {"from": old.value, "to": change.outcome.value}
        if change.line is not None:
            detail["line"] = change.line
        if withdraw:
            withdrawn.append(image_id)
            result.custody_withdrawn += 1
            detail |= {"rule": "R11", "outcome_received_at": received}
            why = (
                f"R11 ({r11}): case {custody_id} ended in '{change.outcome.label}'{when}: "
                "custody image withdrawn from every search at once and flagged for deletion "
                f"after the review period (R18){tail}"
            )
        else:
            why = (
                f"case outcome of {custody_id} changed from '{old.label}' to "
                f"'{change.outcome.label}'{when}{tail}"
            )
        drafts.append(
            AuditDraft(
                AuditAction.ALTERATION,
                WITHDRAWN_EVENT if withdraw else CHANGED_EVENT,
                "custody_image",
                str(image_id),
                why,
                detail,
            )
        )
    now = utcnow()  # the moment of withdrawal: after the reading, before the commit
    for (outcome, withdraw), ids in groups.items():
        values: dict[str, object] = {"case_outcome": outcome}
        if withdraw:
            values |= {"withdrawn_at": now, "flagged_for_deletion_at": now, "eligible": False}
        for chunk_ids in _chunks(ids):
            conn.execute(
                update(CustodyImage).where(among(CustodyImage.id, chunk_ids, s)).values(**values)
            )
    if drafts:
        append_audit_many(s, actor=actor, drafts=drafts, at=now)
    return withdrawn
