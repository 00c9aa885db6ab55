"""Arrests and their outcomes by reason wanted, and notices withheld, for the period report.

The figure a force publishes ("more than 300 for failing to appear at court, more than 50 sex
offenders breaching their court conditions") comes straight from these rows. Counts under five
are published as "<5", and a count that would let one be worked out from a total is withheld
("c"), by ``domain.suppression.suppress_cells``: the rows' arrest totals are in the table, and
each column's total is in the report's funnel. Every public output (HTML, chart, JSON, CSV,
/public) reads these rows, never the raw counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from openlfr.domain.reasons import ReasonWanted
from openlfr.domain.suppression import Published, suppress_cells, suppress_small
from openlfr.service.alerts import Outcome
from openlfr.service.context import AppContext
from openlfr.service.notices import withheld_count
from openlfr.service.reasons_wanted import NOT_RECORDED, outcomes_by_reason
from openlfr.service.records import ARREST_OUTCOMES

__all__ = ["Accountability", "ReasonRow", "accountability", "published_rows", "reason_labels"]


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    label: str
    #: Published counts per outcome: an int, "<5", or "c" (withheld, see domain.suppression).
    outcomes: dict[str, Published]
    arrests: Published


@dataclass(frozen=True)
class Accountability:
    by_reason: list[ReasonRow] = field(default_factory=list)
    notices_withheld: Published = 0
    suppression: str = (
        "counts from 1 to 4 are shown as <5 so that no person can be singled out; c marks a "
        "count withheld so that a <5 cannot be worked out from a total"
    )


def reason_labels() -> dict[str, str]:
    return {**{r.value: r.label for r in ReasonWanted}, NOT_RECORDED: "reason not recorded"}


ARRESTS = "arrests"


def published_rows(raw: dict[str, dict[str, int]]) -> list[ReasonRow]:
    """Every reason (zeros too, so periods can be compared; "not recorded" only when some
    alert has no reason), its counts suppressed as a whole table."""
    labels = reason_labels()
    reasons = [r.value for r in ReasonWanted]
    if raw.get(NOT_RECORDED):
        reasons.append(NOT_RECORDED)
    outcomes = [o.value for o in Outcome]
    counts: dict[tuple[str, str], int] = {}
    for reason in reasons:
        row = raw.get(reason, {})
        counts.update({(reason, o): int(row.get(o, 0)) for o in outcomes})
        counts[(reason, ARRESTS)] = sum(int(row.get(o, 0)) for o in ARREST_OUTCOMES)
    arrest_cols = [o for o in outcomes if o in ARREST_OUTCOMES]
    lines = [[(r, o) for o in arrest_cols] + [(r, ARRESTS)] for r in reasons]
    lines += [[(r, col) for r in reasons] for col in [*outcomes, ARRESTS]]
    shown = suppress_cells(counts, lines)
    return [
        ReasonRow(
            reason,
            labels[reason],
            {o: shown[(reason, o)] for o in outcomes},
            shown[(reason, ARRESTS)],
        )
        for reason in reasons
    ]


def accountability(
    ctx: AppContext, deployment_ids: list[int], start: datetime, end: datetime
) -> Accountability:
    """The period's by-reason rows and notices withheld, as published."""
    rows = published_rows(outcomes_by_reason(ctx, deployment_ids))
    return Accountability(rows, suppress_small(withheld_count(ctx, start, end)))
