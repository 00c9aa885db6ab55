"""Reason wanted: why a person on a watchlist is sought, as the public reads it (issue 13).

Forces publish arrests by why the person was wanted ("more than 300 for failing to appear at
court, more than 50 sex offenders breaching their court conditions, around 50 for violence
against women and girls"). So every enrolment records one reason from this closed list, and
each reason belongs to exactly one lawful watchlist category (R1): a reason that does not fit
the category given is refused, so the published breakdown can never contradict the lawful basis.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from openlfr.domain.categories import WatchlistCategory, parse_category
from openlfr.domain.rules import cite
from openlfr.domain.suppression import SMALL_COUNT, suppress_small
from openlfr.errors import RuleViolation

__all__ = [
    "REASONS",
    "SMALL_COUNT",
    "ReasonWanted",
    "check_reason_fits",
    "parse_reason",
    "suppress_small",
]


class ReasonWanted(StrEnum):
    """Values are stable: they are stored and published."""

    FAILING_TO_APPEAR = "failing_to_appear"
    RECALL_TO_PRISON = "recall_to_prison"
    BREACH_COURT_CONDITIONS = "breach_court_conditions"
    BREACH_SEXUAL_OFFENCE_CONDITIONS = "breach_sexual_offence_conditions"
    VAWG_OFFENCE = "vawg_offence"
    VIOLENT_OFFENCE = "violent_offence"
    ACQUISITIVE_OFFENCE = "acquisitive_offence"
    DRUGS_OR_WEAPONS_OFFENCE = "drugs_or_weapons_offence"
    MISSING_VULNERABLE = "missing_vulnerable"
    MAPPA_MANAGEMENT = "mappa_management"

    @property
    def label(self) -> str:
        return REASONS[self].label

    @property
    def category(self) -> WatchlistCategory:
        return REASONS[self].category


@dataclass(frozen=True, slots=True)
class _Reason:
    label: str
    category: WatchlistCategory


_W, _C, _S = (
    WatchlistCategory.WANTED_BY_COURTS,
    WatchlistCategory.COURT_CONDITIONS,
    WatchlistCategory.SUSPECT,
)
REASONS: dict[ReasonWanted, _Reason] = {
    ReasonWanted.FAILING_TO_APPEAR: _Reason("failing to appear at court", _W),
    ReasonWanted.RECALL_TO_PRISON: _Reason("recalled to prison", _W),
    ReasonWanted.BREACH_COURT_CONDITIONS: _Reason(
        "breach of court-imposed conditions (not sexual-offence conditions)", _C
    ),
    ReasonWanted.BREACH_SEXUAL_OFFENCE_CONDITIONS: _Reason(
        "breach of sexual-offence conditions (e.g. sexual harm prevention order)", _C
    ),
    ReasonWanted.VAWG_OFFENCE: _Reason("violence against women and girls offence", _S),
    ReasonWanted.VIOLENT_OFFENCE: _Reason("other violent offence", _S),
    ReasonWanted.ACQUISITIVE_OFFENCE: _Reason("acquisitive offence (robbery, burglary, theft)", _S),
    ReasonWanted.DRUGS_OR_WEAPONS_OFFENCE: _Reason("drugs or weapons offence", _S),
    ReasonWanted.MISSING_VULNERABLE: _Reason(
        "missing or vulnerable person at risk", WatchlistCategory.MISSING_VULNERABLE
    ),
    ReasonWanted.MAPPA_MANAGEMENT: _Reason("MAPPA management", WatchlistCategory.MAPPA),
}


def _key(text: str) -> str:
    return "_".join(text.strip().casefold().replace("-", " ").split())


_BY_KEY: dict[str, ReasonWanted] = {}
for _r in ReasonWanted:
    _BY_KEY[_key(_r.value)] = _r
    _BY_KEY[_key(_r.label)] = _r


def parse_reason(text: str | ReasonWanted) -> ReasonWanted:
    """The reason ``text`` names (value or label), or ``RuleViolation("R1")``: nothing guessed."""
    if isinstance(text, ReasonWanted):
        return text
    reason = _BY_KEY.get(_key(text))
    if reason is None:
        allowed = ", ".join(r.value for r in ReasonWanted)
        raise RuleViolation(
            "R1",
            f"reason wanted {text.strip()!r} is not on the list: the reasons are {allowed} "
            f"({cite('R1')})",
        )
    return reason


def check_reason_fits(
    reason: str | ReasonWanted, category: str | WatchlistCategory
) -> ReasonWanted:
    """The reason, if it belongs to ``category``; ``RuleViolation("R1")`` naming both if not."""
    parsed, cat = parse_reason(reason), parse_category(category)
    if parsed.category is not cat:
        raise RuleViolation(
            "R1",
            f"reason wanted {parsed.value!r} ({parsed.label}) belongs to the category "
            f"{parsed.category.value!r}, not {cat.value!r}: the lawful category and the reason "
            f"must agree ({cite('R1')})",
        )
    return parsed
