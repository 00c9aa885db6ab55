"""The custody estate review (R18): what is held, what should not be, and the proof that no
retrospective search ever returned an image that was ineligible when it was searched.

The figures come from the estate's columns; the proof comes from the audit log alone. Every
``retro_search`` consultation lists the images it returned (``service/retro_search.py``); the
log also holds, for each custody image, when it became ineligible: its withdrawal
(``custody_image_withdrawn``, also by ``openlfr purge``), its deletion, or an import that found
it ineligible from the start (a collection whose detail says ``"eligible": false``). A search
returned an ineligible image if any image it returned had become ineligible at or before the
search. The chain is verified first: a proof read from a broken log proves nothing, and says so.

The review reads personal data (custody outcomes, dates) to count it and publishes only counts:
it is logged as a consultation, with the period, and its output names nobody.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.domain import CaseOutcome, cite
from openlfr.reports.estate import Bucket, EstateReview, Lag, OutcomeRow, SearchProof
from openlfr.service.context import AppContext, utcnow
from openlfr.service.custody_outcomes import WITHDRAWN_EVENT
from openlfr.service.custody_retention import ERASED_EVENT, IMPORT_EVENTS
from openlfr.service.retro_search import EVENT as SEARCH_EVENT
from openlfr.store import AuditAction, append_audit, verify_audit
from openlfr.store import models as m
from openlfr.store.models_custody import CustodyImage

_AGE_BUCKETS = ((1, "under 1 year"), (3, "1-3 years"), (6, "3-6 years"), (10, "6-10 years"))
_HELD_BUCKETS = ((1, "under 1 day"), (7, "1-7 days"), (28, "7-28 days"), (90, "28-90 days"))
_BATCH = 5_000


def _years(captured: date | None, today: date) -> float | None:
    return None if captured is None else (today - captured).days / 365.25


def _age_buckets(ages: list[float | None]) -> tuple[Bucket, ...]:
    counts = [0] * (len(_AGE_BUCKETS) + 2)
    for age in ages:
        if age is None:
            counts[-1] += 1
            continue
        i = next((k for k, (upper, _) in enumerate(_AGE_BUCKETS) if age < upper), None)
        counts[len(_AGE_BUCKETS) if i is None else i] += 1
    labels = [label for _, label in _AGE_BUCKETS] + ["10 years or more", "capture date unknown"]
    return tuple(Bucket(label, n) for label, n in zip(labels, counts, strict=True))


def _held_buckets(days: list[float]) -> tuple[Bucket, ...]:
    counts = [0] * (len(_HELD_BUCKETS) + 1)
    for d in days:
        i = next((k for k, (upper, _) in enumerate(_HELD_BUCKETS) if d < upper), None)
        counts[len(_HELD_BUCKETS) if i is None else i] += 1
    labels = [label for _, label in _HELD_BUCKETS] + ["90 days or more"]
    return tuple(Bucket(label, n) for label, n in zip(labels, counts, strict=True))


def _lag(seconds: list[float]) -> Lag:
    if not seconds:
        return Lag(0, None, None, None)
    arr = np.asarray(seconds, dtype=np.float64)
    return Lag(
        len(seconds),
        float(np.median(arr)),
        float(np.percentile(arr, 95)),
        float(arr.max()),
    )


def _entries(s: Session, events: tuple[str, ...]) -> Iterator[m.AuditEntry]:
    yield from s.execute(
        select(m.AuditEntry)
        .where(m.AuditEntry.event.in_(events))
        .order_by(m.AuditEntry.id)
        .execution_options(yield_per=_BATCH)
    ).scalars()


def _became_ineligible(s: Session) -> dict[str, datetime]:
    """custody image id -> the first moment the audit log records it as ineligible."""
    since: dict[str, datetime] = {}
    for entry in _entries(s, (WITHDRAWN_EVENT, ERASED_EVENT, *IMPORT_EVENTS)):
        if entry.event in IMPORT_EVENTS:
            detail = json.loads(entry.detail or "{}")
            if detail.get("eligible", True):
                continue
        if entry.object_id not in since:
            since[entry.object_id] = entry.at
    return since


def _search_proof(s: Session, start: datetime, end: datetime) -> SearchProof:
    check = verify_audit(s)
    since = _became_ineligible(s)
    searches = returned = bad = 0
    for entry in _entries(s, (SEARCH_EVENT,)):
        if not start <= entry.at < end:
            continue
        searches += 1
        rows = [str(r) for r in json.loads(entry.detail or "{}").get("returned_rows", [])]
        returned += len(rows)
        if any(r in since and since[r] <= entry.at for r in rows):
            bad += 1
    return SearchProof(searches, returned, bad, check.ok, check.rows_checked, check.first_bad_id)


def estate_review(
    ctx: AppContext, *, start: datetime | None = None, end: datetime | None = None
) -> EstateReview:
    """The review of the period [start, end) (default: the 365 days up to now); audited."""
    now = utcnow()
    end = end or now
    start = start or end - timedelta(days=365)
    period_days = ctx.settings.retro.erase_after_days
    today = now.astimezone(UTC).date()
    with ctx.store.session() as s:
        held = s.execute(
            select(
                CustodyImage.case_outcome,
                CustodyImage.eligible,
                CustodyImage.captured_on,
                CustodyImage.withdrawn_at,
                CustodyImage.created_at,
            ).where(CustodyImage.erased_at.is_(None))
        ).all()
        withdrawn = s.scalar(
            select(func.count()).where(
                CustodyImage.withdrawn_at >= start, CustodyImage.withdrawn_at < end
            )
        )
        deleted = s.scalar(
            select(func.count()).where(
                CustodyImage.erased_at >= start, CustodyImage.erased_at < end
            )
        )
        lags = [
            (entry.at - datetime.fromisoformat(received)).total_seconds()
            for entry in _entries(s, (WITHDRAWN_EVENT,))
            if start <= entry.at < end
            and (received := json.loads(entry.detail or "{}").get("outcome_received_at"))
        ]
        proof = _search_proof(s, start, end)
    by_outcome: dict[str, list[int]] = {o.value: [0, 0] for o in CaseOutcome}
    ages: list[float | None] = []
    ineligible_days: list[float] = []
    oldest: datetime | None = None
    for outcome, eligible, captured, withdrawn_at, created_at in held:
        by_outcome.setdefault(outcome, [0, 0])[0 if eligible else 1] += 1
        ages.append(_years(captured, today))
        if not eligible:
            since = withdrawn_at or created_at
            ineligible_days.append((now - since).total_seconds() / 86400)
            oldest = since if oldest is None or since < oldest else oldest
    rows = tuple(
        OutcomeRow(o, CaseOutcome(o).label, e + i, e, i) for o, (e, i) in by_outcome.items()
    )
    review = EstateReview(
        generated_at=now,
        period_start=start,
        period_end=end,
        review_period_days=period_days,
        images_held=len(held),
        eligible_held=sum(r.eligible for r in rows),
        ineligible_held=sum(r.ineligible for r in rows),
        by_case_outcome=rows,
        by_image_age=_age_buckets(ages),
        ineligible_by_time_held=_held_buckets(ineligible_days),
        ineligible_oldest_since=oldest,
        deletion_overdue=sum(1 for d in ineligible_days if d > period_days),
        withdrawn_in_period=int(withdrawn or 0),
        deleted_in_period=int(deleted or 0),
        withdrawal_lag=_lag(lags),
        searches=proof,
    )
    with ctx.store.session() as s:
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.CONSULTATION,
            event="custody_estate_reviewed",
            object_type="custody_estate",
            object_id="review",
            justification=f"R18 ({cite('R18')}): custody estate review for "
            f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC (counts only published)",
            detail={
                "rule": "R18",
                "images_held": review.images_held,
                "ineligible_held": review.ineligible_held,
                "searches_returning_ineligible": proof.returning_ineligible,
                "chain_ok": proof.chain_ok,
            },
        )
    return review
