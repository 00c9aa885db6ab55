"""A camera attempt whose worker died (a Ray node lost) never saved its final counters: the
attempt that takes over ends it, so the record does not show a camera still running twice."""

from __future__ import annotations

from sqlalchemy import func, update

from openlfr.service.context import AppContext, utcnow
from openlfr.store import models as m

#: The end reason of an attempt lost with its worker (what the deployment record lists).
LOST = "worker lost (its process or node died); the camera was restarted elsewhere"


def close_lost_attempts(ctx: AppContext, deployment_id: int, camera_db_id: int) -> int:
    """Ends every still-open counters row of this camera, at its last heartbeat; returns how
    many. Only safe where no other attempt of the camera runs (the engine runs one at a time)."""
    with ctx.store.session() as s:
        result = s.execute(
            update(m.DeploymentCounter)
            .where(
                m.DeploymentCounter.deployment_id == deployment_id,
                m.DeploymentCounter.camera_id == camera_db_id,
                m.DeploymentCounter.ended_at.is_(None),
            )
            .values(
                ended_at=func.coalesce(m.DeploymentCounter.updated_at, utcnow()),
                end_reason=LOST,
            )
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
