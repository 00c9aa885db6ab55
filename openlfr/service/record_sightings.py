"""The deployment record's section on alert grouping (issue 12 item 4): alerts and their sightings
counted separately.

Returns only publishable values (numbers, dates, ranks, names of cameras): the dict is copied
into ``PublicRecord.sections`` and printed on /public, so nothing personal may go in it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.store import models as m
from openlfr.store.models_sightings import AlertSighting


def section(s: Session, dep: m.Deployment) -> dict[str, Any]:
    """``{"sightings": {"alerts", "sightings", "grouped_alerts"}}`` for ``dep``: how many
    alerts were raised, how many times their subjects were seen in all (an alert's first
    sighting included), and how many alerts gathered more than one sighting."""
    alerts = int(
        s.scalar(select(func.count(m.Alert.id)).where(m.Alert.deployment_id == dep.id)) or 0
    )
    per_alert = (
        select(AlertSighting.alert_id, func.count(AlertSighting.id).label("n"))
        .join(m.Alert, m.Alert.id == AlertSighting.alert_id)
        .where(m.Alert.deployment_id == dep.id)
        .group_by(AlertSighting.alert_id)
        .subquery()
    )
    counted, total, grouped = s.execute(
        select(
            func.count(per_alert.c.alert_id),
            func.coalesce(func.sum(per_alert.c.n), 0),
            func.count(per_alert.c.alert_id).filter(per_alert.c.n > 1),
        )
    ).one()
    # An alert stored before sightings existed (migration 0013) is one sighting by itself.
    sightings = int(total) + (alerts - int(counted))
    return {
        "sightings": {
            "alerts": alerts,
            "sightings": sightings,
            "grouped_alerts": int(grouped),
        }
    }
