"""Arrests and their outcomes by reason wanted, and notices withheld, for the period report.

The figure a force publishes ("more than 300 for failing to appear at court, more than 50 sex
offenders breaching their court conditions") comes straight from these rows. Counts under five
are published as "<5" (``domain.reasons.suppress_small``): a count of one or two at a named
place and date could point to a person. Totals are suppressed by the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from openlfr.domain.reasons import ReasonWanted, suppress_small
from openlfr.service.alerts import Outcome
from openlfr.service.context import AppContext
from openlfr.service.notices import withheld_count
from openlfr.service.reasons_wanted import NOT_RECORDED, outcomes_by_reason
from openlfr.service.records import ARREST_OUTCOMES

__all__ = ["Accountability", "ReasonRow", "accountability", "reason_labels"]


@dataclass(frozen=True)
class ReasonRow:
    reason: str
    label: str
    #: Published counts per outcome: an int, or "<5".
    outcomes: dict[str, int | str]
    arrests: int | str


@dataclass(frozen=True)
class Accountability:
    by_reason: list[ReasonRow] = field(default_factory=list)
    notices_withheld: int | str = 0
    suppression: str = "counts from 1 to 4 are shown as <5 so that no person can be singled out"


def reason_labels() -> dict[str, str]:
    return {**{r.value: r.label for r in ReasonWanted}, NOT_RECORDED: "reason not recorded"}


def accountability(
    ctx: AppContext, deployment_ids: list[int], start: datetime, end: datetime
) -> Accountability:
    """The period's rows, every reason listed (zeros too, so periods can be compared)."""
    raw = outcomes_by_reason(ctx, deployment_ids)
    labels = reason_labels()
    rows = []
    for reason in [*(r.value for r in ReasonWanted), NOT_RECORDED]:
        counts = raw.get(reason, {})
        if reason == NOT_RECORDED and not counts:
            continue
        arrests = sum(n for o, n in counts.items() if o in ARREST_OUTCOMES)
        rows.append(
            ReasonRow(
                reason,
                labels[reason],
                {o.value: suppress_small(counts.get(o.value, 0)) for o in Outcome},
                suppress_small(arrests),
            )
        )
    return Accountability(rows, suppress_small(withheld_count(ctx, start, end)))
