"""Watchlist categories (R1): the closed list of reasons a person may be on a watchlist.

Bridges v CC South Wales [2020] EWCA Civ 1058 (paras 121-130) held a deployment unlawful because
the policy left too much discretion over *who* could be put on a watchlist; a "persons of
intelligence interest" category was the example. So the list is closed: there is no "other".
"""

from __future__ import annotations

from enum import StrEnum

from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation


class WatchlistCategory(StrEnum):
    """Values are stable: they are stored, hashed into watchlist snapshots and published."""

    WANTED_BY_COURTS = "wanted_by_courts"
    SUSPECT = "suspect"
    COURT_CONDITIONS = "court_conditions"
    MAPPA = "mappa"
    MISSING_VULNERABLE = "missing_vulnerable"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: dict[WatchlistCategory, str] = {
    WatchlistCategory.WANTED_BY_COURTS: "wanted by the courts",
    WatchlistCategory.SUSPECT: "wanted on reasonable grounds (suspect)",
    WatchlistCategory.COURT_CONDITIONS: "subject to court-imposed conditions",
    WatchlistCategory.MAPPA: "MAPPA (multi-agency public protection arrangements)",
    WatchlistCategory.MISSING_VULNERABLE: "missing or vulnerable person at risk",
}


def _key(text: str) -> str:
    return "_".join(text.strip().casefold().replace("-", " ").split())


# Labels and values both parse, so that a CSV written by a person ("MAPPA", "Wanted by the
# courts") is accepted as readily as one written by openlfr.
_BY_KEY: dict[str, WatchlistCategory] = {}
for _category in WatchlistCategory:
    _BY_KEY[_key(_category.value)] = _category
    _BY_KEY[_key(_category.label)] = _category
_BY_KEY[_key("wanted on reasonable grounds")] = WatchlistCategory.SUSPECT
_BY_KEY[_key("missing or vulnerable")] = WatchlistCategory.MISSING_VULNERABLE


def parse_category(text: str | WatchlistCategory) -> WatchlistCategory:
    """The category ``text`` names, or ``RuleViolation("R1")`` for anything else.

    Nothing is guessed (no prefix or fuzzy matching): a typo must not become a lawful category.
    """
    if isinstance(text, WatchlistCategory):
        return text
    category = _BY_KEY.get(_key(text))
    if category is None:
        allowed = ", ".join(c.value for c in WatchlistCategory)
        raise RuleViolation(
            "R1",
            f"watchlist category {text.strip()!r} is not allowed: the categories are {allowed}. "
            "There is no catch-all category (such as 'intelligence interest'): leaving who may "
            f"be put on a watchlist to discretion made a deployment unlawful ({cite('R1')})",
        )
    return category
