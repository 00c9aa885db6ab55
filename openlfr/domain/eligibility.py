"""Whether a custody image may be used as a watchlist reference (R2, R3, R4, R11).

RMC & FJ v MPC [2012] EWHC 1681 held that keeping custody images of people who were not
convicted, under a blanket policy, breached Article 8; the Custody Images Review 2017 followed.
So an image's case outcome decides its use, an exception needs a recorded reason approved by a
second person, and children's images need a reason of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from openlfr.domain.policy import GovernanceSettings
from openlfr.domain.rules import cite
from openlfr.errors import RuleViolation

#: The role that may approve an exceptional reason. Not a setting: the Custody Images Review
#: asks for a supervisory decision, and a configurable role could be widened to anyone.
SUPERVISOR_ROLE = "supervisor"

ADULT_AGE = 18


class CaseOutcome(StrEnum):
    """The outcome of the matter for which a custody image was taken (values are stored)."""

    PENDING = "pending"
    CHARGED = "charged"
    CONVICTED = "convicted"
    CAUTIONED = "cautioned"
    NO_FURTHER_ACTION = "no_further_action"
    ACQUITTED = "acquitted"
    DISCONTINUED = "discontinued"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")

    @property
    def not_convicted(self) -> bool:
        """True for outcomes after which the image is not used without an approved exception."""
        return self in NOT_CONVICTED


NOT_CONVICTED: frozenset[CaseOutcome] = frozenset(
    {CaseOutcome.NO_FURTHER_ACTION, CaseOutcome.ACQUITTED, CaseOutcome.DISCONTINUED}
)


def parse_outcome(text: str | CaseOutcome) -> CaseOutcome:
    """A case outcome from its value or label ("no further action", "NFA"); else ValueError."""
    if isinstance(text, CaseOutcome):
        return text
    key = "_".join(text.strip().casefold().replace("-", " ").split())
    if key == "nfa":
        return CaseOutcome.NO_FURTHER_ACTION
    try:
        return CaseOutcome(key)
    except ValueError:
        allowed = ", ".join(o.value for o in CaseOutcome)
        raise ValueError(f"case outcome {text!r} is not one of {allowed}") from None


def _blank(text: str | None) -> bool:
    return text is None or not text.strip()


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What the custody record says about one image; everything ``assess_image`` looks at."""

    source_ref: str
    lawful_basis: str
    case_outcome: CaseOutcome
    captured_on: date | None = None
    age_at_capture: int | None = None
    under18_reason: str | None = None
    exceptional_reason: str | None = None
    exceptional_requested_by: str | None = None
    exceptional_approved_by: str | None = None
    exceptional_approver_role: str | None = None

    def __post_init__(self) -> None:
        # A negative age is a broken record, not a child: fail loudly where it is built.
        if self.age_at_capture is not None and self.age_at_capture < 0:
            raise ValueError(f"age_at_capture {self.age_at_capture} is negative")


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    """``reason`` is fit to show a person as it is: it names the rule and its source."""

    eligible: bool
    rule: str | None
    reason: str
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def raise_if_ineligible(self) -> None:
        """Raise the refusal as ``RuleViolation`` (for callers that stop at the first one)."""
        if not self.eligible:
            raise RuleViolation(self.rule or "R2", self.reason)


def _refuse(rule: str, reason: str, warnings: list[str]) -> EligibilityDecision:
    return EligibilityDecision(False, rule, f"{reason} ({cite(rule)})", tuple(warnings))


def _exception_problem(facts: ImageFacts) -> str | None:
    """Why the exceptional reason does not stand, or None when it was properly approved."""
    if _blank(facts.exceptional_reason):
        return "no exceptional reason is recorded"
    if _blank(facts.exceptional_requested_by):
        return "the exceptional reason does not record who asked for it"
    if _blank(facts.exceptional_approved_by):
        return "the exceptional reason has not been approved"
    role = facts.exceptional_approver_role
    if role is None or role.strip().casefold() != SUPERVISOR_ROLE:
        return (
            f"the exceptional reason was approved by someone without the {SUPERVISOR_ROLE} role "
            f"(role {role!r})"
        )
    # Blank checks above make these str; mypy cannot see through _blank.
    assert facts.exceptional_requested_by is not None
    assert facts.exceptional_approved_by is not None
    if _same_person(facts.exceptional_requested_by, facts.exceptional_approved_by):
        # Separation of duties: one person both asking and approving is no check at all.
        return "the exceptional reason was approved by the same person who asked for it"
    return None


def assess_image(
    facts: ImageFacts, *, today: date, policy: GovernanceSettings
) -> EligibilityDecision:
    """Decide whether one image may be used; the first rule that refuses it is reported.

    Order: R2 (the record must say where the image came from and why it may be held; nothing
    else about an unsourced image can be trusted), then R3 (case outcome), then R4 (children).
    """
    warnings: list[str] = []

    if _blank(facts.source_ref):
        return _refuse(
            "R2", "no source recorded: every reference image must name its custody record", warnings
        )
    if _blank(facts.lawful_basis):
        return _refuse("R2", "no lawful basis recorded for holding and using this image", warnings)
    if facts.captured_on is not None and facts.captured_on > today:
        return _refuse(
            "R2",
            f"capture date {facts.captured_on.isoformat()} is in the future: the record is wrong",
            warnings,
        )

    if facts.captured_on is None:
        warnings.append("capture date not recorded: the image's age cannot be checked")
    else:
        age_days = (today - facts.captured_on).days
        if age_days > policy.max_image_age_days:
            warnings.append(
                f"image is {age_days} days old (over {policy.max_image_age_days}): "
                "a more recent image is preferred"
            )

    if facts.case_outcome.not_convicted:
        problem = _exception_problem(facts)
        if problem is not None:
            return _refuse(
                "R3",
                f"case outcome '{facts.case_outcome.label}' — custody images of people who were "
                "not convicted are not used without an approved exceptional reason; " + problem,
                warnings,
            )
        warnings.append(
            f"used under an exceptional reason approved by {facts.exceptional_approved_by} "
            f"despite case outcome '{facts.case_outcome.label}'"
        )

    if policy.under18_requires_reason and _blank(facts.under18_reason):
        if facts.age_at_capture is None:
            # Unknown age is treated as possibly a child: the safeguard must not fall away
            # because a field was left empty.
            return _refuse(
                "R4",
                "age at capture not recorded — the person may have been under 18, which needs a "
                "recorded reason",
                warnings,
            )
        if facts.age_at_capture < ADULT_AGE:
            return _refuse(
                "R4",
                f"under 18 at capture (age {facts.age_at_capture}) — images of children need a "
                "recorded reason",
                warnings,
            )

    return EligibilityDecision(
        True, None, f"eligible: case outcome '{facts.case_outcome.label}'", tuple(warnings)
    )


@dataclass(frozen=True, slots=True)
class ImageCandidate:
    """One of a subject's images with its decision, for choosing the reference to use."""

    image_id: int
    captured_on: date | None
    eligible: bool


def prefer_newest(images: Iterable[ImageCandidate]) -> ImageCandidate | None:
    """The eligible image captured most recently; None when no image is eligible.

    An image with no capture date ranks below any dated one (its age cannot be shown to be
    recent). Ties go to the higher id: the later enrolment of the same day's capture.
    """
    eligible = [image for image in images if image.eligible]
    if not eligible:
        return None
    return max(
        eligible,
        key=lambda image: (
            image.captured_on is not None,
            image.captured_on or date.min,
            image.image_id,
        ),
    )


def outcome_withdraws_images(old: CaseOutcome | None, new: CaseOutcome) -> bool:
    """R11: True when an outcome change must withdraw the person's images at once.

    That is a change *into* no further action, acquittal or discontinuance (from any other outcome
    or from none). A change between two of those outcomes withdraws nothing new, and a change
    out of them (e.g. a retrial ending in conviction) restores nothing by itself: the images are
    assessed again.
    """
    return new.not_convicted and (old is None or not old.not_convicted)
