"""Advance public notice of a deployment (R19): when it goes up, when it lets a run start, and
the closed list of reasons an authorising officer may withhold it.

The Met publishes where it will deploy before it does; a notice that goes up as the cameras
switch on tells the public nothing they could act on. So a notice goes up when the deployment
is authorised, and the deployment may not start until ``notice_hours`` later (or its own start,
whichever is later). Withholding is allowed only for a reason on the list below, recorded,
audited and counted in the period report, so that it stays the exception it is meant to be.
Pure rules: every time is given, nothing is read from a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation

__all__ = [
    "NoticeFacts",
    "WithholdReason",
    "check_notice_plan",
    "notice_may_start_at",
    "parse_withhold_reason",
]


class WithholdReason(StrEnum):
    """Values are stable: they are stored and counted in the published report."""

    THREAT_TO_LIFE = "threat_to_life"
    RISK_OF_SERIOUS_HARM = "risk_of_serious_harm"
    MISSING_PERSON_URGENT = "missing_person_urgent"
    NATIONAL_SECURITY = "national_security"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    WithholdReason.THREAT_TO_LIFE: "a specific threat to life",
    WithholdReason.RISK_OF_SERIOUS_HARM: "a specific and imminent risk of serious harm",
    WithholdReason.MISSING_PERSON_URGENT: "an urgent search for a missing person at risk",
    WithholdReason.NATIONAL_SECURITY: "national security",
}


def parse_withhold_reason(text: str | WithholdReason) -> WithholdReason:
    """The reason ``text`` names (value or label), or ``RuleViolation("R19")``."""
    if isinstance(text, WithholdReason):
        return text
    key = "_".join(text.strip().casefold().replace("-", " ").split())
    for reason in WithholdReason:
        if key in (reason.value, "_".join(reason.label.casefold().split())):
            return reason
    allowed = ", ".join(r.value for r in WithholdReason)
    raise RuleViolation(
        "R19",
        f"a notice may be withheld only for a reason on the list ({allowed}), not "
        f"{text.strip()!r} ({cite('R19')})",
    )


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """A deployment's notice as stored: when it went up (None when withheld) and the period
    in force when it was authorised."""

    published_at: datetime | None
    notice_hours: float
    withheld_reason: str | None = None


def notice_may_start_at(published_at: datetime, start: datetime, notice_hours: float) -> datetime:
    """The earliest a deployment with this notice may run: its start, or the end of the notice
    period if that is later."""
    return max(start, published_at + timedelta(hours=notice_hours))


def check_notice_plan(
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    notice_hours: float,
    withhold: str | None,
    withhold_note: str = "",
) -> list[RuleViolation]:
    """What stops an authorisation now from giving notice in time: a withholding reason not
    on the list, one without the officer's note, or (with a notice) a window that ends before
    the notice period would pass."""
    if withhold is not None and withhold.strip():
        try:
            parse_withhold_reason(withhold)
        except RuleViolation as exc:
            return [exc]
        if not withhold_note.strip():
            return [
                RuleViolation(
                    "R19",
                    "withholding the notice needs the officer's note of the specific "
                    f"circumstances ({cite('R19')})",
                )
            ]
        return []
    may_start = notice_may_start_at(now, start, notice_hours)
    if may_start >= end:
        return [
            RuleViolation(
                "R19",
                f"a notice put up now lets the deployment start only at "
                f"{may_start:%Y-%m-%d %H:%M} UTC ({notice_hours:g} h notice), after its window "
                f"ends at {end:%Y-%m-%d %H:%M} UTC: authorise earlier, move the window, or "
                f"withhold the notice for a listed reason ({cite('R19')})",
            )
        ]
    return []
