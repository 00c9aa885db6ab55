"""Whether a new match joins an open alert as a sighting or raises a new alert (issue 12 item 4).

Pure: the service layer finds the candidate alert (same deployment, same subject) and hands its
state here, so the rule is tested by table and the store stays the only place that decides
which alert is "the" open one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class OpenAlert:
    """What the rule needs of the latest alert on the same deployment and subject."""

    status: str  # AlertStatus value
    last_seen_at: datetime  # its latest sighting's time
    purged: bool = False  # its data already erased (R10): nothing left to add a sighting to


def joins_open_alert(candidate: OpenAlert | None, seen_at: datetime, window_s: float) -> bool:
    """True when a match seen at ``seen_at`` is a new sighting of ``candidate``.

    Only a pending alert is open: once a human has decided on it (R13) a later sighting is a
    new event that needs its own decision. The window counts both ways because cameras on
    other nodes may store out of capture order; window 0 keeps every alert separate.
    """
    if candidate is None or window_s <= 0 or candidate.purged:
        return False
    if candidate.status != "pending":
        return False
    return abs((seen_at - candidate.last_seen_at).total_seconds()) <= window_s
