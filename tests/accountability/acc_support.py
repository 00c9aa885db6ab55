"""Accountability test support: contexts on the test's store with a chosen notice period, real
LFW images enrolled with the real models, a watchlist and a draft deployment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from store_support import open_context
from suite import SHARED_DATA

from openlfr.config import StoreSettings
from openlfr.config_accountability import AccountabilitySettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.store import models as m
from openlfr.vision.protocols import Detector, Embedder

LFW = SHARED_DATA / "lfw" / "images"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
SUPT = {"officer": "A Smith", "rank": "superintendent"}


def context(
    store: StoreSettings, models: tuple[Detector, Embedder], notice_hours: float
) -> AppContext:
    acc = AccountabilitySettings(notice_hours=notice_hours, contact="Ask at dpo@force.example")
    return open_context(store, models, accountability=acc)


def enrol(
    ctx: AppContext,
    ref: str,
    person: str,
    category: str = "wanted_by_courts",
    reason: str | None = "failing_to_appear",
) -> list[int]:
    spec = ImageSpec(LFW / person / f"{person}_0001.jpg", f"CUST-{ref}", "PACE s64A",
                     "charged", age_at_capture=30)  # fmt: skip
    result = enrol_subject(ctx, reference=ref, display_name=f"Name of {ref}", category=category,
                           images=[spec], reason_wanted=reason)  # fmt: skip
    assert not result.refused, result.refused
    return [i for _, i in result.enrolled]


def draft(ctx: AppContext, watchlist_id: int, *, hours_from_now: float = 0.0,
          length_hours: float = 4.0, **changes: Any) -> int:  # fmt: skip
    start = utcnow() + timedelta(hours=hours_from_now)
    d = DeploymentDraft(
        name="Operation Notice",
        purpose="find people wanted by the courts",
        location="Market Square",
        location_reason="sightings reported there",
        start=start,
        end=start + timedelta(hours=length_hours),
        watchlist_id=watchlist_id,
        cameras=[("cam1", str(CLIP))],
        equality_note="threshold at the floor; demographic review done",
        **changes,
    )
    return create_deployment(ctx, d)


def seed_alerts(ctx: AppContext, dep_id: int, subject_ref: str, outcomes: list[str]) -> None:
    """Confirmed alerts with these outcomes, as a run and its adjudications leave them; the
    deployment is then ended."""
    with ctx.store.session() as s:
        sid = s.scalar(select(m.Subject.id).where(m.Subject.reference == subject_ref))
        img = s.scalar(select(m.ReferenceImage.id).where(m.ReferenceImage.subject_id == sid))
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep_id))
        for track, outcome in enumerate(outcomes):
            s.add(m.Alert(deployment_id=dep_id, camera_id=cam, track_id=track, subject_id=sid,
                          reference_image_id=img, score=0.6, margin=0.2, first_frame=1,
                          last_frame=2, status="confirmed", outcome=outcome))  # fmt: skip
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        dep.status, dep.started_at, dep.ended_at = "ended", dep.start_at, dep.end_at


#: The ``open_ctx`` fixture (conftest.py): ``open_ctx(notice_hours)`` -> an AppContext.
OpenCtx = Callable[[float], AppContext]
