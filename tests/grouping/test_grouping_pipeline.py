"""The real pipeline on a real clip where the person leaves and comes back: WDA_KatieHill's clip,
then 40 empty frames (longer than a track survives unseen), then the clip again. The pipeline
raises an alert per track; the store groups them: one alert with its sightings under the
default window, one alert per track with window 0. Both sinks get the same alerts, so the only
difference between the two deployments is the window."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from grouping_support import CLIP, Sinks, deployment, enrol, open_ctx

from openlfr.config import StoreSettings
from openlfr.pipeline.alerts import Alert
from openlfr.pipeline.live import LivePipeline
from openlfr.service.watchlists import load_gallery
from openlfr.store import models as m
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

REF = "WDA_KatieHill"
GAP = 40  # empty frames: beyond tracking.lost_track_frames (30), so the track ends


def _frames(start: int, count: int) -> list[np.ndarray]:
    out = []
    with av.open(str(CLIP)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start + count:
                break
            if i >= start:
                out.append(np.ascontiguousarray(f.to_ndarray(format="bgr24")))
    return out


class Tee:
    """Hands each alert to every sink (each a real StoreAlertSink)."""

    def __init__(self, *sinks: Sinks) -> None:
        self.sinks, self.seen = sinks, []  # type: ignore[var-annotated]

    def raise_alert(self, alert: Alert) -> None:
        self.seen.append(alert)
        for run in self.sinks:
            run.sinks[0].raise_alert(alert)


@pytest.mark.slow
def test_a_person_who_leaves_and_comes_back_is_one_alert(
    store_settings: StoreSettings,
    shared_data: Path,
    models: tuple[Detector, Embedder],
    tmp_path: Path,
) -> None:
    del shared_data  # the clip is read from it
    ref = tmp_path / "katie.jpg"
    cv2.imwrite(str(ref), _frames(190, 1)[0])  # a part of the clip the feed does not use
    grouped_ctx = open_ctx(store_settings, models)
    apart_ctx = open_ctx(store_settings, models, window_s=0)
    try:
        enrol(grouped_ctx, [(REF, ref)])
        grouped = Sinks.of(grouped_ctx, deployment(grouped_ctx, "Op Grouped", cameras=1))
        apart = Sinks.of(apart_ctx, deployment(apart_ctx, "Op Apart", cameras=1))
        with grouped_ctx.store.session() as s:
            dep = s.get(m.Deployment, grouped.dep_id)
            assert dep is not None
            wl_id = dep.watchlist_id
        gallery, entries = load_gallery(grouped_ctx, wl_id, justification="test")
        assert [e.subject_id for e in entries] == [e.subject_id for e in apart.entries]

        blank = np.zeros_like(_frames(0, 1)[0])
        feed = _frames(0, 60) + [blank] * GAP + _frames(60, 60)
        tee = Tee(grouped, apart)
        settings = grouped_ctx.settings
        pipe = LivePipeline(
            detector=models[0],
            embedder=models[1],
            gallery=gallery,
            sink=tee,
            settings=settings,
            threshold=settings.matching.threshold,
        )
        for i, img in enumerate(feed):
            pipe.process(Frame(img, "cam1", i, i / 25))
        counters = pipe.finish()

        # She was seen twice (two tracks), each raising at least one alert in the pipeline.
        assert counters.tracks >= 2
        assert len({a.track_id for a in tee.seen}) >= 2, [a.track_id for a in tee.seen]
        # Default window: one alert, with a sighting per pipeline alert.
        [alert] = grouped.alerts()
        assert len(grouped.sightings(alert.id)) == len(tee.seen) >= 2
        # Window 0: each pipeline alert is an alert of its own.
        assert len(apart.alerts()) == len(tee.seen)
    finally:
        grouped_ctx.close()
        apart_ctx.close()
