"""Settings of public accountability (issue 13): advance notice (R19), the public contact,
and how fresh the equality evidence shown to an authorising officer must be."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AccountabilitySettings(BaseModel):
    """Environment: OPENLFR_ACCOUNTABILITY__<FIELD>."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notice_hours: float = Field(
        24.0,
        ge=0,
        le=24 * 31,
        description="Hours a deployment's public notice must have been up before it may start "
        "(R19). Longer gives the public more time to read, ask and choose another route; "
        "shorter lets an urgent operation go sooner (an officer may instead withhold the "
        "notice for a listed reason, which is counted). 0 only for throw-away stores (demo, "
        "evaluation) and tests.",
    )
    contact: str = Field(
        "Write to the force's data protection officer, quoting the notice number, or use the "
        "force's contact page.",
        min_length=1,
        description="How the public can ask questions about a deployment, printed on every "
        "notice. Say something a person can act on: an address, a page, a phone line.",
    )
    equality_max_age_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Age in days beyond which the newest per-group error-rate measurement "
        "(`openlfr eval identify --group-by ...`, recorded under <data_dir>/equality) no longer "
        "counts as current: the authorising officer is warned. Shorter forces re-measurement "
        "after model or camera changes; longer risks deciding on stale evidence.",
    )
