"""The published deployment record (DESIGN.md §5): numbers only, no personal data."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.watchlists import watchlist_summary
from openlfr.store import models as m


def deployment_record(ctx: AppContext, deployment_id: int) -> dict[str, Any]:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R14", f"deployment {deployment_id} does not exist")
        cams = list(s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep.id)))
        counters = list(
            s.scalars(
                select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep.id)
            )
        )
        alerts = list(s.scalars(select(m.Alert).where(m.Alert.deployment_id == dep.id)))
        wl = s.get(m.Watchlist, dep.watchlist_id)
    summary = watchlist_summary(ctx, dep.watchlist_id)
    faces = sum(c.faces for c in counters)
    status = Counter(a.status for a in alerts)
    outcomes = Counter(a.outcome for a in alerts if a.outcome)
    false_alerts = status.get("false_alert", 0)
    return {
        "deployment_id": dep.id,
        "name": dep.name,
        "date": dep.start_at.date().isoformat(),
        "start": dep.start_at.isoformat(),
        "end": dep.end_at.isoformat(),
        "started_at": dep.started_at.isoformat() if dep.started_at else None,
        "ended_at": dep.ended_at.isoformat() if dep.ended_at else None,
        "location": dep.location,
        "purpose": dep.purpose,
        "status": dep.status,
        "authorising_rank": dep.authoriser_rank,
        "cameras": [c.name for c in cams],
        "watchlist_size": summary.size,
        "watchlist_size_by_category": summary.size_by_category,
        "threshold": dep.threshold,
        "frames": sum(c.frames for c in counters),
        "frames_dropped": sum(c.frames_dropped for c in counters),
        "faces_seen": faces,
        "tracks": sum(c.tracks for c in counters),
        "alerts": len(alerts),
        "confirmed": status.get("confirmed", 0),
        "false_alerts": false_alerts,
        "not_actioned": status.get("not_actioned", 0),
        "pending": status.get("pending", 0),
        "outcomes": dict(outcomes),
        "false_alert_rate_per_1000_faces": round(1000 * false_alerts / faces, 4) if faces else 0.0,
        "watchlist_purged_at": wl.purged_at.isoformat() if wl and wl.purged_at else None,
        "end_reasons": sorted({c.end_reason for c in counters if c.end_reason}),
    }
