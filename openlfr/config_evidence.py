"""Pose- and size-aware evidence a track needs before it alerts (issue 12 items 1, 3)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class EvidenceSettings(BaseModel):
    """Every field described with its trade-off (filled in by the issue's work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
