"""A deployment with two cameras and two watchlisted people, and alerts raised into it through
the service's own sink (``StoreAlertSink``), exactly as a run raises them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select
from suite import SHARED_DATA

from openlfr.config import Settings, StoreSettings
from openlfr.config_grouping import GroupingSettings
from openlfr.pipeline.alerts import Alert
from openlfr.service.alert_sink import StoreAlertSink
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.watchlists import GalleryEntry, compile_watchlist, load_gallery
from openlfr.store import models as m
from openlfr.store.models_sightings import AlertSighting
from openlfr.vision.protocols import Detector, Embedder

CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
PEOPLE = [("SUBJ-G1", "AJ_Cook"), ("SUBJ-G2", "Colin_Powell")]


def open_ctx(
    store: StoreSettings, models: tuple[Detector, Embedder], window_s: float | None = None
) -> AppContext:
    update: dict[str, object] = {"store": store}
    if window_s is not None:
        update["grouping"] = GroupingSettings(window_s=window_s)
    ctx = AppContext.open(Settings().model_copy(update=update), actor="pc.tester")
    ctx.use_models(*models)
    return ctx


def enrol(ctx: AppContext, people: list[tuple[str, Path]]) -> None:
    for i, (ref, image) in enumerate(people):
        spec = ImageSpec(image, f"CUST-G{i}", "PACE s64A", "charged", date.today(), 30)
        got = enrol_subject(ctx, reference=ref, display_name=ref, category="suspect", images=[spec])
        assert got.enrolled, got


def lfw(name: str) -> Path:
    return SHARED_DATA / "lfw" / "images" / name / f"{name}_0001.jpg"


def deployment(ctx: AppContext, name: str, cameras: int = 2) -> int:
    wl = compile_watchlist(ctx, name)
    now = utcnow()
    cams = [(f"cam{i + 1}", str(CLIP)) for i in range(cameras)]
    draft = DeploymentDraft(
        name, "locate a suspect", "High Street", "sightings reported",
        now - timedelta(minutes=1), now + timedelta(hours=2), wl.id, cams, None,
        "threshold at the floor; reviewed",
    )  # fmt: skip
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(ctx, dep_id, officer="A Smith", rank="superintendent", reasons="test")
    return dep_id


@dataclass
class Sinks:
    """One StoreAlertSink per camera of a deployment, as its runs would hold them."""

    ctx: AppContext
    dep_id: int
    sinks: list[StoreAlertSink]
    entries: list[GalleryEntry]

    @classmethod
    def of(cls, ctx: AppContext, dep_id: int) -> Sinks:
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, dep_id)
            assert dep is not None
            wl_id = dep.watchlist_id
            cams = list(
                s.scalars(
                    select(m.Camera.id)
                    .where(m.Camera.deployment_id == dep_id)
                    .order_by(m.Camera.id)
                )
            )
        _, entries = load_gallery(ctx, wl_id, justification="test")
        return cls(ctx, dep_id, [StoreAlertSink(ctx, dep_id, c, entries) for c in cams], entries)

    def label(self, ref: str) -> int:
        return next(i for i, e in enumerate(self.entries) if e.subject_ref == ref)

    def raise_(self, cam: int, track: int, ref: str, score: float = 0.7, shade: int = 120) -> None:
        crop = np.full((64, 64, 3), shade, np.uint8)
        crop[::8] = 255 - shade  # a little texture: the JPEG must not be trivially equal
        alert = Alert(f"cam{cam + 1}", track, self.label(ref), score, 0.2, -1, track * 10,
                      track * 10 + 5, 0.0, 3, crop)  # fmt: skip
        self.sinks[cam].raise_alert(alert)

    def alerts(self) -> list[m.Alert]:
        with self.ctx.store.session() as s:
            rows = s.scalars(
                select(m.Alert).where(m.Alert.deployment_id == self.dep_id).order_by(m.Alert.id)
            )
            out = list(rows)
            s.expunge_all()
            return out

    def sightings(self, alert_id: int) -> list[AlertSighting]:
        with self.ctx.store.session() as s:
            rows = s.scalars(
                select(AlertSighting)
                .where(AlertSighting.alert_id == alert_id)
                .order_by(AlertSighting.id)
            )
            out = list(rows)
            s.expunge_all()
            return out
