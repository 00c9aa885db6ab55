"""Alert grouping: the same person seen again joins the open alert (issue 12 item 4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GroupingSettings(BaseModel):
    """Every field described with its trade-off (filled in by the issue's work)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
