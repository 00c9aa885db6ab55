"""UK police ranks, ordered, so that "superintendent or above" (R5) is a comparison.

Kept apart from ``authorisation`` so that ``policy`` can name a default rank without importing
the rules that take a policy.
"""

from __future__ import annotations

from enum import IntEnum

from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation


class Rank(IntEnum):
    """Home Office force ranks, lowest first.

    The Metropolitan Police (and City of London) ranks above chief superintendent are mapped to
    their equivalents by *value*, so ``Rank.COMMANDER is Rank.ASSISTANT_CHIEF_CONSTABLE``: an
    aliased name compares and authorises at the same level. Record the rank as the officer wrote
    it beside the parsed value if the published record must show the Met title.
    """

    CONSTABLE = 1
    SERGEANT = 2
    INSPECTOR = 3
    CHIEF_INSPECTOR = 4
    SUPERINTENDENT = 5
    CHIEF_SUPERINTENDENT = 6
    ASSISTANT_CHIEF_CONSTABLE = 7
    DEPUTY_CHIEF_CONSTABLE = 8
    CHIEF_CONSTABLE = 9
    # Met equivalents (aliases: same value, same level).
    COMMANDER = 7
    DEPUTY_ASSISTANT_COMMISSIONER = 8
    ASSISTANT_COMMISSIONER = 9
    # The Met's two most senior ranks have no force equivalent above chief constable.
    DEPUTY_COMMISSIONER = 10
    COMMISSIONER = 11

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


def _key(text: str) -> str:
    return "_".join(text.strip().casefold().replace("-", " ").replace(".", " ").split())


# Common abbreviations as written on duty rosters and in authorisation forms.
_ABBREVIATIONS: dict[str, Rank] = {
    "pc": Rank.CONSTABLE,
    "ps": Rank.SERGEANT,
    "sgt": Rank.SERGEANT,
    "insp": Rank.INSPECTOR,
    "ci": Rank.CHIEF_INSPECTOR,
    "ch_insp": Rank.CHIEF_INSPECTOR,
    "supt": Rank.SUPERINTENDENT,
    "ch_supt": Rank.CHIEF_SUPERINTENDENT,
    "cs": Rank.CHIEF_SUPERINTENDENT,
    "acc": Rank.ASSISTANT_CHIEF_CONSTABLE,
    "cdr": Rank.COMMANDER,
    "dcc": Rank.DEPUTY_CHIEF_CONSTABLE,
    "dac": Rank.DEPUTY_ASSISTANT_COMMISSIONER,
    "cc": Rank.CHIEF_CONSTABLE,
    "ac": Rank.ASSISTANT_COMMISSIONER,
}


def parse_rank(text: str | int | Rank) -> Rank:
    """A rank from its name ("Chief Superintendent", "chief_superintendent"), a common
    abbreviation ("Supt", "ACC") or its level; "Detective" prefixes are ignored because detective
    ranks are the same ranks. Anything else is ``RuleViolation("R5")``: an authorisation whose
    rank cannot be read cannot be checked.
    """
    if isinstance(text, Rank):
        return text
    if isinstance(text, int):
        try:
            return Rank(text)
        except ValueError:
            raise RuleViolation("R5", f"rank level {text} does not exist ({cite('R5')})") from None
    key = _key(text)
    for prefix in ("detective_", "det_", "d_"):
        if key.startswith(prefix):
            key = key.removeprefix(prefix)
            break
    rank = _ABBREVIATIONS.get(key) or Rank.__members__.get(key.upper())
    if rank is None:
        raise RuleViolation(
            "R5",
            f"rank {text.strip()!r} is not a police rank openlfr knows (constable ... chief "
            f"constable, or the Met's commander ... commissioner) ({cite('R5')})",
        )
    return rank
