"""An alert's sightings (issue 12 item 4): the list, and each sighting's crop, for operators
only, as the probe crop is. Both are audited consultations in the service layer."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from openlfr.api.deps import require, state_of
from openlfr.api.params import RowId
from openlfr.service.sessions import Principal
from openlfr.service.sightings import alert_sightings, sighting_crop
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["operator"])
OPERATOR = require(Role.OPERATOR)


@router.get("/api/alerts/{alert_id}/sightings")
def sightings(
    alert_id: RowId, request: Request, who: Principal = Depends(OPERATOR)
) -> dict[str, Any]:
    """Each time the alert's subject was seen while the alert waited (first: the one that
    raised it): camera, time, score, whether its crop is still held. Audited."""
    ctx = state_of(request).context(who.username)
    views = alert_sightings(ctx, alert_id, justification=f"sightings of alert {alert_id}")
    return {
        "alert_id": alert_id,
        "count": len(views),
        "sightings": [
            {
                "id": v.id,
                "camera": v.camera,
                "seen_at": v.seen_at.isoformat(),
                "score": round(v.score, 4),
                "frame_index": v.frame_index,
                "first": v.first,
                "crop_held": v.crop_held,
                "crop_url": f"/api/alerts/{alert_id}/sightings/{v.id}.jpg" if v.crop_held else None,
            }
            for v in views
        ],
    }


@router.get(
    "/api/alerts/{alert_id}/sightings/{sighting_id}.jpg",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def sighting_image(
    alert_id: RowId, sighting_id: RowId, request: Request, who: Principal = Depends(OPERATOR)
) -> Response:
    """One sighting's crop. Each view is an audited consultation."""
    ctx = state_of(request).context(who.username)
    crop = sighting_crop(
        ctx,
        alert_id,
        sighting_id,
        justification=f"review of alert {alert_id}, sighting {sighting_id}",
    )
    return Response(crop, media_type="image/jpeg")
