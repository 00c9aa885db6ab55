"""Alert grouping (issue 12 item 4): alerts an operator must decide on a feed where the same
people come and go, with the grouping window on (default) and off (window 0).

    python benchmarks/grouping.py [--appearances 3] [--frames 50] [--gap 40]

The feed is built from shared talking-head clips (dev data, not the holdout): each enrolled
person appears ``--appearances`` times for ``--frames`` frames, people alternating, with
``--gap`` empty frames between appearances (longer than a track survives unseen, so each
appearance is a new track). References come from frame 190 of each clip, which the feed never
uses. The real pipeline raises alerts; each goes to two real StoreAlertSinks (throw-away
SQLite store in a temporary folder), one per window, so both see exactly the same alerts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from openlfr.config import Settings, StoreSettings  # noqa: E402
from openlfr.config_grouping import GroupingSettings  # noqa: E402
from openlfr.pipeline.alerts import Alert  # noqa: E402
from openlfr.pipeline.live import LivePipeline  # noqa: E402
from openlfr.service.alert_sink import StoreAlertSink  # noqa: E402
from openlfr.service.context import AppContext, utcnow  # noqa: E402
from openlfr.service.deployments import (  # noqa: E402
    DeploymentDraft,
    authorise_deployment,
    create_deployment,
)
from openlfr.service.enrolment import ImageSpec, enrol_subject  # noqa: E402
from openlfr.service.watchlists import compile_watchlist, load_gallery  # noqa: E402
from openlfr.store import models as m  # noqa: E402
from openlfr.store.models_sightings import AlertSighting  # noqa: E402
from openlfr.vision.types import Frame  # noqa: E402

# A throw-away store authorised and run at once, as the demo's: no advance notice (R19).
os.environ.setdefault("OPENLFR_ACCOUNTABILITY__NOTICE_HOURS", "0")
VIDEO = REPO.parent / "shared" / "data" / "video"
PEOPLE = ["WDA_KatieHill", "RD_Radio2", "WDA_EdMarkey0"]


def _frames(clip: Path, start: int, count: int) -> list[np.ndarray]:
    out = []
    with av.open(str(clip)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start + count:
                break
            if i >= start:
                out.append(np.ascontiguousarray(f.to_ndarray(format="bgr24")))
    return out


def _deployment(ctx: AppContext, name: str) -> tuple[int, int]:
    wl = compile_watchlist(ctx, name)
    now = utcnow()
    draft = DeploymentDraft(
        name, "locate a suspect", "High Street", "benchmark", now - timedelta(minutes=1),
        now + timedelta(hours=2), wl.id, [("cam1", str(VIDEO / f"{PEOPLE[0]}_000.mp4"))], None,
        "benchmark",
    )  # fmt: skip
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(ctx, dep_id, officer="A Smith", rank="superintendent", reasons="bench")
    with ctx.store.session() as s:
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep_id))
    assert cam is not None
    return dep_id, cam


def _counts(ctx: AppContext, dep_id: int) -> tuple[int, int, dict[int, int]]:
    with ctx.store.session() as s:
        per_subject = dict(
            s.execute(
                select(m.Alert.subject_id, func.count(m.Alert.id))
                .where(m.Alert.deployment_id == dep_id)
                .group_by(m.Alert.subject_id)
            ).all()
        )
        sightings = s.scalar(
            select(func.count(AlertSighting.id))
            .join(m.Alert, m.Alert.id == AlertSighting.alert_id)
            .where(m.Alert.deployment_id == dep_id)
        )
    return sum(per_subject.values()), int(sightings or 0), per_subject


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--appearances", type=int, default=3)
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--gap", type=int, default=40)
    ap.add_argument("--people", type=int, default=2, choices=[1, 2, 3])
    args = ap.parse_args()
    people = PEOPLE[: args.people]
    with tempfile.TemporaryDirectory() as tmp:
        store = StoreSettings(data_dir=Path(tmp) / "store")
        ctxs = {}
        for window in (600.0, 0.0):
            settings = Settings().model_copy(
                update={"store": store, "grouping": GroupingSettings(window_s=window)}
            )
            ctxs[window] = AppContext.open(settings, actor="bench")
        ctx = ctxs[600.0]
        for i, person in enumerate(people):
            ref = Path(tmp) / f"{person}.jpg"
            cv2.imwrite(str(ref), _frames(VIDEO / f"{person}_000.mp4", 190, 1)[0])
            spec = ImageSpec(ref, f"CUST-B{i}", "PACE s64A", "charged", date.today(), 30)
            got = enrol_subject(ctx, reference=person, display_name=person, category="suspect",
                                images=[spec])  # fmt: skip
            assert got.enrolled, got
        deps = {w: _deployment(c, f"Op Bench {w:g}") for w, c in ctxs.items()}
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, deps[600.0][0])
            assert dep is not None
            wl_id = dep.watchlist_id
        gallery, entries = load_gallery(ctx, wl_id, justification="benchmark")
        sinks = [StoreAlertSink(c, deps[w][0], deps[w][1], entries) for w, c in ctxs.items()]
        raised: list[Alert] = []

        class Tee:
            def raise_alert(self, alert: Alert) -> None:
                raised.append(alert)
                for sink in sinks:
                    sink.raise_alert(alert)

        clips = {p: VIDEO / f"{p}_000.mp4" for p in people}
        blank = np.zeros_like(_frames(clips[people[0]], 0, 1)[0])
        feed: list[np.ndarray] = []
        for k in range(args.appearances):
            for p in people:
                start = (k * args.frames) % max(1, 180 - args.frames)
                feed += _frames(clips[p], start, args.frames) + [blank] * args.gap
        pipe = LivePipeline(
            detector=ctx.detector, embedder=ctx.embedder, gallery=gallery, sink=Tee(),
            settings=ctx.settings, threshold=ctx.settings.matching.threshold,
        )  # fmt: skip
        t0 = time.perf_counter()
        for i, img in enumerate(feed):
            pipe.process(Frame(img, "cam1", i, i / 25))
        counters = pipe.finish()
        elapsed = time.perf_counter() - t0
        print(
            f"feed: {len(people)} people x {args.appearances} appearances, {len(feed)} frames, "
            f"{counters.tracks} tracks, {len(raised)} pipeline alerts ({elapsed:.1f} s)"
        )
        print(f"{'window_s':>9} {'alerts':>7} {'sightings':>10} {'alerts per person':>18}")
        names = {e.subject_id: e.subject_ref for e in entries}
        for w, c in ctxs.items():
            alerts, sightings, per = _counts(c, deps[w][0])
            each = ", ".join(f"{names[s]}={n}" for s, n in sorted(per.items()))
            print(f"{w:>9g} {alerts:>7} {sightings:>10} {each:>18}")
        for c in ctxs.values():
            c.close()


if __name__ == "__main__":
    main()
