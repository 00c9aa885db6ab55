"""The custody estate review (R18) as public data: counts, ages and times only.

Nothing here can name or describe a person: no custody id, no person reference, no image. The
renderers (``reports/estate_render.py``) read only these dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SCHEMA = "openlfr.custody-review/1"


@dataclass(frozen=True)
class Bucket:
    label: str
    count: int


@dataclass(frozen=True)
class OutcomeRow:
    outcome: str  # a CaseOutcome value
    label: str
    held: int
    eligible: int
    ineligible: int


@dataclass(frozen=True)
class Lag:
    """Time from a case outcome reaching openlfr to the image's withdrawal, in seconds."""

    withdrawals: int
    median_s: float | None
    p95_s: float | None
    max_s: float | None


@dataclass(frozen=True)
class SearchProof:
    """Searches in the period, read back from the audit log, each returned image checked
    against the log's own record of when it became ineligible (withdrawn, deleted, or imported
    ineligible). ``returning_ineligible`` must be 0; ``chain_ok`` says the log read is intact."""

    searches: int
    candidates_returned: int
    returning_ineligible: int
    chain_ok: bool
    audit_rows_checked: int
    first_bad_row: int | None


@dataclass(frozen=True)
class EstateReview:
    generated_at: datetime
    period_start: datetime
    period_end: datetime
    review_period_days: float  # retro.erase_after_days: withdrawal to deletion
    images_held: int  # not deleted: image and embedding still stored
    eligible_held: int
    ineligible_held: int
    by_case_outcome: tuple[OutcomeRow, ...]
    by_image_age: tuple[Bucket, ...]  # age of the image (from its capture date) today
    ineligible_by_time_held: tuple[Bucket, ...]  # how long each has been ineligible
    ineligible_oldest_since: datetime | None
    deletion_overdue: int  # ineligible beyond the review period, still held
    withdrawn_in_period: int
    deleted_in_period: int
    withdrawal_lag: Lag
    searches: SearchProof
