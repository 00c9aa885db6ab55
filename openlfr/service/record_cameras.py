"""The deployment record's section on cameras (issue 10 item 2-3): per camera: frames analysed,
skipped, dropped, reconnects, time down.

Returns only publishable values (numbers, dates, ranks, names of cameras): the dict is copied
into ``PublicRecord.sections`` and printed on /public, so nothing personal may go in it. Never a
camera's source: its URL may hold credentials (and says where the camera is wired to).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openlfr.store import models as m


def section(s: Session, dep: m.Deployment) -> dict[str, Any]:
    """``{"cameras": [{camera, analysed, skipped, dropped, reconnects, down_s}, ...]}``.

    A camera restarted (a worker lost, a run resumed) has one counters row per attempt: they
    are summed, so the record shows the camera's whole deployment. Cameras that never ran
    show zeros: the public sees every camera that was authorised, not only those that worked.
    """
    c = m.DeploymentCounter
    q = (
        select(
            m.Camera.name,
            func.coalesce(func.sum(c.frames), 0),
            func.coalesce(func.sum(c.frames_skipped), 0),
            func.coalesce(func.sum(c.frames_dropped), 0),
            func.coalesce(func.sum(c.reconnects), 0),
            func.coalesce(func.sum(c.down_s), 0.0),
        )
        .outerjoin(c, (c.camera_id == m.Camera.id) & (c.deployment_id == dep.id))
        .where(m.Camera.deployment_id == dep.id)
        .group_by(m.Camera.id, m.Camera.name)
        .order_by(m.Camera.id)
    )
    rows = [
        {
            "camera": name,
            "analysed": int(frames),
            "skipped": int(skipped),
            "dropped": int(dropped),
            "reconnects": int(reconnects),
            "down_s": round(float(down), 1),
        }
        for name, frames, skipped, dropped, reconnects, down in s.execute(q)
    ]
    return {"cameras": rows} if rows else {}
