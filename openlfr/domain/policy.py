"""Governance settings: every period, floor and limit the domain rules apply.

Every rule function takes a ``GovernanceSettings`` as an argument (none reads global settings),
so the same rules can be tested, previewed with another policy, and audited against the policy
in force when an act was done.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openlfr.domain.ranks import Rank, parse_rank

#: EU AI Act Art 26(6): deployers keep automatically generated logs for at least six months.
MIN_AUDIT_RETENTION_DAYS = 183


class GovernanceSettings(BaseModel):
    """Environment: OPENLFR_GOVERNANCE__<FIELD> once mounted in the root ``Settings``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_rank: Rank = Field(
        Rank.SUPERINTENDENT,
        description="Lowest rank that may authorise a deployment (R5). The College of Policing "
        "LFR APP sets superintendent or above; a lower rank weakens the independent check on "
        "purpose, place and watchlist. Below inspector is refused outright.",
    )
    max_duration_hours: float = Field(
        12.0,
        gt=0,
        le=168,
        description="Longest authorised window (R5). A bounded, named time is part of what makes "
        "the intrusion proportionate (Bridges); a longer operation is re-authorised, which makes "
        "someone look again at whether it is still needed. At most a week.",
    )
    threshold_floors: dict[str, float] = Field(
        default_factory=lambda: {"sface": 0.42, "dlib": 0.94},
        description="Lowest alert threshold allowed per embedding model, as cosine similarity "
        "(R7). A lower threshold raises false alerts, and the NPL 2023 study found demographic "
        "differences in false alerts appear at lower thresholds. sface 0.42: LFW threshold for 1 "
        "false accept in 10,000 pairs is 0.416 (MODELS.md). dlib 0.94: a placeholder on the "
        "cosine of its 128-d descriptor until `openlfr calibrate` measures it. A model with no "
        "floor here cannot be authorised.",
    )
    max_image_age_days: int = Field(
        3 * 365,
        ge=1,
        description="Reference images older than this raise a warning (not a refusal). Faces "
        "change with age: an old image misses the person and raises false alerts; the APP "
        "prefers the most recent suitable image.",
    )
    watchlist_purge_hours: float = Field(
        24.0,
        ge=0,
        le=24,
        description="Hours after a deployment ends by which its watchlist snapshot is deleted "
        "(R9, Home Office and force practice: within 24 h). Shorter keeps less biometric data; "
        "it cannot be set longer than 24 h.",
    )
    alert_retention_days: int = Field(
        31,
        ge=0,
        le=366,
        description="Days an alert's data (probe crop, candidate, score) is kept unless linked "
        "to an outcome that needs it (R10, force practice). Long enough for complaints and "
        "review of false alerts; longer keeps images of people who may have been misidentified.",
    )
    purge_interval_minutes: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Minutes between retention runs while a deployment is live (R9-R11): the "
        "runner purges once at start and then at this interval, and each run also drops "
        "images withdrawn by a case outcome from the live search. Shorter withdraws sooner "
        "(R11 says at once) for one cheap query per run; at most an hour, so a 24 h purge "
        "deadline is never missed by the scheduler itself.",
    )
    audit_retention_days: int = Field(
        MIN_AUDIT_RETENTION_DAYS,
        description="Days audit log rows are kept at least (R12). EU AI Act Art 26(6) requires "
        "at least six months (183 days); DPA 2018 s62 requires the log to exist for "
        "self-monitoring and the Commissioner. Fewer than 183 days is refused.",
    )
    under18_requires_reason: bool = Field(
        True,
        description="Images of people under 18 at capture (or of unknown age) need a recorded "
        "reason to be used (R4; SWP policy in Bridges, Custody Images Review 2017). Turning it "
        "off removes a safeguard for children.",
    )

    @field_validator("min_rank", mode="before")
    @classmethod
    def _rank_from_text(cls, value: Any) -> Any:
        # Environment variables arrive as text ("superintendent", "Supt").
        if isinstance(value, str) and not value.strip().isdigit():
            return parse_rank(value)
        return value

    @field_validator("min_rank")
    @classmethod
    def _rank_not_too_low(cls, value: Rank) -> Rank:
        if value < Rank.INSPECTOR:
            raise ValueError(
                f"min_rank {value.label} is too low: a deployment must be authorised by an "
                "inspector at the very least (superintendent under the LFR APP)"
            )
        return value

    @field_validator("threshold_floors")
    @classmethod
    def _floors_valid(cls, value: dict[str, float]) -> dict[str, float]:
        floors: dict[str, float] = {}
        for model, floor in value.items():
            name = model.strip().casefold()
            if not name:
                raise ValueError("threshold_floors: a model name is empty")
            if not math.isfinite(floor) or not -1.0 <= floor <= 1.0:
                raise ValueError(
                    f"threshold_floors[{model!r}] = {floor} is not a cosine in [-1, 1]"
                )
            floors[name] = float(floor)
        if not floors:
            raise ValueError("threshold_floors is empty: no model could be authorised")
        return floors

    @field_validator("audit_retention_days")
    @classmethod
    def _audit_at_least_six_months(cls, value: int) -> int:
        if value < MIN_AUDIT_RETENTION_DAYS:
            raise ValueError(
                f"audit_retention_days {value} is below the legal minimum of "
                f"{MIN_AUDIT_RETENTION_DAYS} days (six months: EU AI Act Art 26(6); R12)"
            )
        return value

    def threshold_floor(self, model_name: str) -> float | None:
        """The floor for ``model_name`` (case-insensitive), or None when it has none."""
        return self.threshold_floors.get(model_name.strip().casefold())
