"""Alert grouping: the same person seen again joins the open alert (issue 12 item 4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class GroupingSettings(BaseModel):
    """Every field described with its trade-off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_s: float = Field(
        default=600.0,
        ge=0.0,
        le=86_400.0,
        description=(
            "Seconds within which the same watchlist subject seen again on the same deployment "
            "(any camera) joins the still-pending alert as a new sighting instead of raising a "
            "new alert; measured from that alert's latest sighting. Longer: fewer alerts for "
            "an operator to decide (one person walking in and out of view is one decision), "
            "but a person who comes back much later is added to an alert the operator may "
            "already be acting on, and a mistaken match gathers more sightings before it is "
            "decided. Shorter: each return is a fresh alert (more decisions, more repeated "
            "stops). 0 keeps every alert separate. A decided alert is closed: the next "
            "sighting always opens a new alert, whatever the window."
        ),
    )
