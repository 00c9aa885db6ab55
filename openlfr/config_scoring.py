"""Score normalisation and SFace+dlib fusion used live and in evaluation (issue 12 item 1)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ScoringSettings(BaseModel):
    """Every field described with its trade-off (filled in by the issue's work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
