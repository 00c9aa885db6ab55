"""Settings of retrospective search and of the custody estate's deletion schedule (R17, R18)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetroSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_top: int = Field(
        100,
        ge=1,
        le=1000,
        description="Most candidates one retrospective search may return (--top). More "
        "candidates give a trained comparer a better chance when the right person ranks low, "
        "but every candidate shown is a person's custody image disclosed to the investigator: "
        "a long list widens that intrusion for little gain beyond rank 20.",
    )
    erase_after_days: float = Field(
        28.0,
        ge=0.0,
        le=3650.0,
        description="Review period, in days, between a custody image becoming ineligible "
        "(withdrawn: NFA, acquitted, discontinued) and its deletion by `openlfr purge` (image, "
        "embedding and index entry). It is never searched meanwhile. Shorter holds an innocent "
        "person's image for less time (RMC & FJ [2012] EWHC 1681); longer leaves a supervisor "
        "more time to catch a wrongly recorded outcome before the irreversible erasure. 0 "
        "deletes at the first purge after withdrawal.",
    )
