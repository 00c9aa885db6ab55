"""Deletion on schedule of ineligible custody images (R18), run by ``openlfr purge``.

An image becomes ineligible when its case ends without conviction: withdrawn at once by the
case-outcome reconciliation (``service/custody_outcomes.py``), or found so at import. It is
never searched from then on. After ``retro.erase_after_days`` (the review period, in which a
supervisor can catch a wrongly recorded outcome) it is deleted: image and embedding emptied in
the store and its vector removed from the custody index, each erasure audited.

What stays (R16: what was held, and when, stays answerable): the row's custody id, person
reference, outcome, hash and dates, and every audit entry about it. No image, no vector.

Deletion goes in batches of ``BATCH`` images per transaction, each with its audit rows
(``append_audit_many``): a million withdrawn images are deleted in minutes, not hours, and a
failure stops one batch, not the rest. A batch is re-read when it is applied: only images still
due then are deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, update

from openlfr.domain import cite
from openlfr.domain.eligibility import NOT_CONVICTED
from openlfr.service.context import AppContext
from openlfr.service.custody_estate import forget_custody_images
from openlfr.store import AuditAction
from openlfr.store.audit_bulk import AuditDraft, append_audit_many
from openlfr.store.models_custody import CustodyImage

if TYPE_CHECKING:  # retention imports this module
    from openlfr.service.retention import PurgeStep

BATCH = 1_000
KIND = "custody deletion"
ERASED_EVENT = "custody_image_erased"
#: The import's collection events (service/custody_import.py); detail says "eligible".
IMPORT_EVENTS = ("custody_image_imported",)


def _ineligible_since() -> Any:
    # Flagged (withdrawn): since the flag. Imported with a not-convicted outcome: since import.
    return func.coalesce(
        CustodyImage.flagged_for_deletion_at, CustodyImage.withdrawn_at, CustodyImage.created_at
    )


def _flagged() -> tuple[Any, ...]:
    """Ineligible, still held, and flagged for deletion: withdrawn on a case outcome, or
    imported with one (R3). An image ineligible for a fixable reason (no lawful basis recorded,
    under 18 without a reason: R2, R4) is not flagged: it waits, unsearched, for the record."""
    return (
        CustodyImage.eligible.is_(False),
        CustodyImage.erased_at.is_(None),
        or_(
            CustodyImage.flagged_for_deletion_at.is_not(None),
            CustodyImage.case_outcome.in_(sorted(o.value for o in NOT_CONVICTED)),
        ),
    )


def _due_where(cutoff: datetime) -> tuple[Any, ...]:
    return (*_flagged(), _ineligible_since() <= cutoff)


def custody_steps(
    ctx: AppContext, now: datetime
) -> tuple[list[tuple[int, int, datetime]], datetime | None]:
    """Batches due at ``now`` as (first id, images, latest due time), and when the next image
    not yet due will be. Reads ids and dates only, never the blobs."""
    period = timedelta(days=ctx.settings.retro.erase_after_days)
    cutoff = now - period
    with ctx.store.session() as s:
        rows = s.execute(
            select(CustodyImage.id, _ineligible_since())
            .where(*_due_where(cutoff))
            .order_by(CustodyImage.id)
        ).all()
        upcoming = s.scalar(
            select(func.min(_ineligible_since())).where(*_flagged(), _ineligible_since() > cutoff)
        )
    batches = []
    for i in range(0, len(rows), BATCH):
        part = rows[i : i + BATCH]
        batches.append((int(part[0][0]), len(part), max(r[1] for r in part) + period))
    return batches, (upcoming + period) if upcoming is not None else None


def step_action(count: int) -> str:
    return (
        f"delete image, embedding and index entry of {count} ineligible custody images past "
        "the review period; keep each row's identifiers and hash (R16)"
    )


def erase_custody_batch(ctx: AppContext, step: PurgeStep, now: datetime, actor: str) -> bool:
    """Deletes up to ``BATCH`` images due at ``now`` from ``step.ref`` on, in one transaction
    with an audited erasure each; then their vectors leave the custody index."""
    days = ctx.settings.retro.erase_after_days
    with ctx.store.session() as s:
        rows = s.execute(
            select(CustodyImage.id, CustodyImage.custody_id, CustodyImage.case_outcome)
            .where(CustodyImage.id >= step.ref, *_due_where(now - timedelta(days=days)))
            .order_by(CustodyImage.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return False
        ids = [int(r[0]) for r in rows]
        s.execute(
            update(CustodyImage)
            .where(CustodyImage.id.in_(ids))
            .values(image_blob=b"", embedding_blob=b"", erased_at=now)
            .execution_options(synchronize_session=False)
        )
        why = f"R18 ({cite('R18')}): ineligible custody image"
        append_audit_many(
            s,
            actor=actor,
            at=now,
            drafts=(
                AuditDraft(
                    AuditAction.ERASURE,
                    ERASED_EVENT,
                    "custody_image",
                    str(image_id),
                    f"{why} {custody_id} (case outcome '{outcome.replace('_', ' ')}') deleted "
                    f"after the review period of {days:g} days: image, embedding and index "
                    "entry; identifiers and hash kept",
                    {"rule": "R18", "erase_after_days": days},
                )
                for image_id, custody_id, outcome in rows
            ),
        )
    forget_custody_images(ctx, ids)  # after the commit: a failed batch keeps its vectors
    return True
