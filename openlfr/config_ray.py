"""Ray engine: where cameras run on a cluster (issue 10 item 4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RaySettings(BaseModel):
    """Every field described with its trade-off (filled in by the issue's work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
