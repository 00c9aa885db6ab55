"""Deployment authorisation (R5, R6, R7): what a valid authorisation must say, and its window.

Bridges (paras 91-96, 121-130) found the "where" and "who" of a deployment left to officers'
discretion without adequate criteria; the College of Policing APP answered with a written
authorisation by a senior officer that names purpose, place and why, time, watchlist and
threshold. ``check_authorisation`` returns every shortfall at once so the form can be fixed in
one pass; an empty list is the only "yes".

``check_draft`` applies the same rules, less those only the authorising officer can meet (who
they are, their reasons, the equality note they review), to a deployment as it is drafted: a
draft that could never be authorised is refused when it is written, not weeks later.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Protocol

from openlfr.domain.categories import parse_category
from openlfr.domain.notices import NoticeFacts, notice_may_start_at
from openlfr.domain.policy import GovernanceSettings
from openlfr.domain.ranks import Rank, parse_rank
from openlfr.domain.rules import cite
from openlfr.domain.watchlist_hash import is_sha256_hex
from openlfr.errors import RuleViolation

__all__ = [
    "AuthorisationRequest",
    "AuthorisationWindow",
    "DraftRequest",
    "FieldViolation",
    "Rank",
    "check_authorisation",
    "check_draft",
    "check_notice_passed",
    "deployment_may_run",
    "parse_rank",
    "seconds_until_end",
]


def _aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


def _require_aware(now: datetime) -> None:
    # ``now`` comes from the caller's clock; a naive one is a programming error, not a refusal.
    if not _aware(now):
        raise ValueError("now must be a timezone-aware datetime")


class FieldViolation(RuleViolation):
    """A refusal that names the form field at fault (``purpose``, ``end``, ``threshold``, ...:
    the names of ``DeploymentDraft``), so a form can show it beside that field."""

    def __init__(self, rule: str, message: str, field: str) -> None:
        super().__init__(rule, message)
        self.field = field


@dataclass(frozen=True, slots=True)
class DraftRequest:
    """A deployment as a supervisor drafts it, before any officer has looked at it."""

    purpose: str
    location: str
    location_reason: str
    start: datetime
    end: datetime
    cameras: Sequence[str]
    watchlist_id: str
    watchlist_size_by_category: Mapping[str, int]
    watchlist_hash: str
    threshold: float
    model_name: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(
            self,
            "watchlist_size_by_category",
            MappingProxyType(dict(self.watchlist_size_by_category)),
        )

    @property
    def watchlist_size(self) -> int:
        return sum(self.watchlist_size_by_category.values())


@dataclass(frozen=True, slots=True)
class AuthorisationRequest(DraftRequest):
    """A draft as the authorising officer signs it: the draft's fields (``cameras`` and
    ``watchlist_size_by_category`` frozen copies, so the snapshot checked is the snapshot
    stored) and the officer's own part. Build it with keywords: the fields are the draft's first.
    """

    officer_name: str
    rank: Rank
    equality_note: str
    #: The officer's own reasons for authorising (published with the authorisation).
    reasons: str = ""


class AuthorisationWindow(Protocol):
    """Anything with an authorised start and end (an ``AuthorisationRequest``, a stored row)."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


def _violation(rule: str, message: str, field: str) -> RuleViolation:
    return FieldViolation(rule, f"{message} ({cite(rule)})", field)


def _check_officer(req: AuthorisationRequest, policy: GovernanceSettings) -> list[RuleViolation]:
    found: list[RuleViolation] = []
    if not req.officer_name.strip():
        found.append(_violation("R5", "the authorising officer is not named", "officer"))
    if req.rank < policy.min_rank:
        found.append(
            _violation(
                "R5",
                f"authorising officer's rank {req.rank.label} is below the minimum "
                f"({policy.min_rank.label})",
                "rank",
            )
        )
    return found


def _check_why(req: DraftRequest) -> list[RuleViolation]:
    return [
        _violation("R5", f"the {what} is not stated", field)
        for value, what, field in (
            (req.purpose, "purpose", "purpose"),
            (req.location, "location", "location"),
            (req.location_reason, "reason for choosing the location", "location_reason"),
        )
        if not value.strip()
    ]


def _check_officers_part(req: AuthorisationRequest) -> list[RuleViolation]:
    found: list[RuleViolation] = []
    if not req.equality_note.strip():
        # Bridges paras 173-181: the Public Sector Equality Duty must be considered before, not
        # after, a deployment; the note is where that consideration is written down.
        found.append(
            _violation(
                "R5",
                "the equality-impact note is missing (Public Sector Equality Duty)",
                "equality_note",
            )
        )
    if not req.reasons.strip():
        # The APP asks the officer to record why the deployment is necessary and proportionate;
        # a bare signature is not a decision anyone can review.
        found.append(
            _violation("R5", "the authorising officer's reasons are not stated", "reasons")
        )
    return found


def _check_cameras(req: DraftRequest) -> list[RuleViolation]:
    if not req.cameras:
        return [_violation("R5", "no camera is named", "cameras")]
    if any(not camera.strip() for camera in req.cameras):
        return [_violation("R5", "a camera has an empty name", "cameras")]
    if len({camera.strip() for camera in req.cameras}) != len(req.cameras):
        return [_violation("R5", "a camera is named twice", "cameras")]
    return []


def _check_when(
    req: DraftRequest, policy: GovernanceSettings, now: datetime
) -> list[RuleViolation]:
    if not (_aware(req.start) and _aware(req.end)):
        return [_violation("R5", "start and end must carry a time zone", "start")]
    found: list[RuleViolation] = []
    if req.end <= req.start:
        found.append(_violation("R5", "the end is not after the start", "end"))
    elif req.end - req.start > timedelta(hours=policy.max_duration_hours):
        hours = (req.end - req.start) / timedelta(hours=1)
        found.append(
            _violation(
                "R5",
                f"the window is {hours:g} h, longer than the {policy.max_duration_hours:g} h "
                "maximum: authorise a longer operation in parts",
                "end",
            )
        )
    if req.end <= now:
        found.append(
            _violation("R5", f"the window ended at {req.end.isoformat()}, in the past", "end")
        )
    return found


def _check_watchlist(req: DraftRequest) -> list[RuleViolation]:
    found: list[RuleViolation] = []
    if not req.watchlist_id.strip():
        found.append(_violation("R6", "no watchlist snapshot is named", "watchlist_id"))
    if not is_sha256_hex(req.watchlist_hash):
        found.append(
            _violation(
                "R6",
                "the watchlist's member hash is missing or not a SHA-256 digest",
                "watchlist_id",
            )
        )
    for category, count in req.watchlist_size_by_category.items():
        try:
            parse_category(category)
        except RuleViolation as exc:
            found.append(exc)
        if count < 0:
            found.append(
                _violation(
                    "R6", f"watchlist size for {category!r} is negative ({count})", "watchlist_id"
                )
            )
    if req.watchlist_size <= 0:
        found.append(_violation("R6", "the watchlist is empty", "watchlist_id"))
    return found


def _check_threshold(req: DraftRequest, policy: GovernanceSettings) -> list[RuleViolation]:
    floor = policy.threshold_floor(req.model_name)
    if floor is None:
        known = ", ".join(sorted(policy.threshold_floors))
        return [
            _violation(
                "R7",
                f"model {req.model_name!r} has no calibrated threshold floor (known: {known})",
                "threshold",
            )
        ]
    if not math.isfinite(req.threshold) or req.threshold > 1.0:
        return [
            _violation(
                "R7",
                f"threshold {req.threshold} is not a cosine similarity (at most 1.0)",
                "threshold",
            )
        ]
    if req.threshold < floor:
        return [
            _violation(
                "R7",
                f"threshold {req.threshold:g} is below the calibrated floor {floor:g} for "
                f"{req.model_name}: lower thresholds raise false alerts unevenly across groups",
                "threshold",
            )
        ]
    return []


def check_authorisation(
    req: AuthorisationRequest, *, policy: GovernanceSettings, now: datetime
) -> list[RuleViolation]:
    """Every rule the request breaks (R1, R5, R6, R7); an empty list means it may be authorised."""
    _require_aware(now)
    return [
        *_check_officer(req, policy),
        *_check_why(req),
        *_check_officers_part(req),
        *_check_drafted(req, policy, now),
    ]


def check_draft(
    req: DraftRequest, *, policy: GovernanceSettings, now: datetime
) -> list[RuleViolation]:
    """Every rule a draft breaks that no authorising officer could mend: purpose, place and
    reason stated, cameras, a window that has not ended and is not too long, a non-empty
    snapshot, a threshold in [floor, 1.0]. The same checks ``check_authorisation`` makes."""
    _require_aware(now)
    return [*_check_why(req), *_check_drafted(req, policy, now)]


def _check_drafted(
    req: DraftRequest, policy: GovernanceSettings, now: datetime
) -> list[RuleViolation]:
    return [
        *_check_cameras(req),
        *_check_when(req, policy, now),
        *_check_watchlist(req),
        *_check_threshold(req, policy),
    ]


def deployment_may_run(window: AuthorisationWindow, now: datetime) -> bool:
    """True while ``start <= now < end``: not before its time, and it stops at its end by itself."""
    _require_aware(now)
    return window.start <= now < window.end


def seconds_until_end(window: AuthorisationWindow, now: datetime) -> float:
    """Seconds the deployment may still run (0.0 once ended), for the runner's stop timer."""
    _require_aware(now)
    return max(0.0, (window.end - now).total_seconds())


def check_notice_passed(
    deployment_id: int, start: datetime, notice: NoticeFacts | None, now: datetime
) -> None:
    """R5 extended by R19: a deployment may not start until its public notice has been up for
    the notice period in force when it was authorised, unless the notice was withheld for a
    listed reason. ``notice`` None (no notice row at all, e.g. authorised before notices
    existed) is refused too: only a recorded notice or withholding lets a deployment start."""
    _require_aware(now)
    if notice is None:
        raise RuleViolation(
            "R19",
            f"deployment {deployment_id} has no public notice on record, published or withheld, "
            f"so it may not start: only an authorisation puts a notice up ({cite('R19')}; R5)",
        )
    if notice.withheld_reason is not None:
        return
    if notice.published_at is None:
        raise RuleViolation(
            "R19",
            f"deployment {deployment_id} has no public notice and none was withheld "
            f"({cite('R19')}; R5)",
        )
    may_start = notice_may_start_at(notice.published_at, start, notice.notice_hours)
    if now < may_start:
        raise RuleViolation(
            "R19",
            f"deployment {deployment_id}'s public notice went up at "
            f"{notice.published_at:%Y-%m-%d %H:%M} UTC: with {notice.notice_hours:g} h notice "
            f"it may start from {may_start:%Y-%m-%d %H:%M} UTC, not now ({cite('R19')}; R5)",
        )
