"""One person is one track, and one track is one person: a box handed over to someone else at
the same place (a hard cut, people crossing) must not carry the first person's alert."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from openlfr.config import Settings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.alerts import ListSink
from openlfr.pipeline.live import LivePipeline
from openlfr.vision.images import find_single_face
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

PEOPLE = ["WDA_KatieHill", "RD_Radio2"]


def _frames(clip: Path, start: int, count: int) -> list[np.ndarray]:
    out = []
    with av.open(str(clip)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start + count:
                break
            if i >= start:
                out.append(np.ascontiguousarray(f.to_ndarray(format="bgr24")))
    return out


@pytest.mark.slow
def test_a_hard_cut_between_two_people_gives_two_tracks_and_two_alerts(
    shared_data: Path, models: tuple[Detector, Embedder]
) -> None:
    settings = Settings()
    det, emb = models
    clips = [shared_data / "video" / f"{p}_000.mp4" for p in PEOPLE]
    refs = []
    for clip in clips:  # the reference comes from a part of the clip the feed does not use
        face = find_single_face(_frames(clip, 190, 1)[0], det, clip.name)
        refs.append(emb.embed(face.image, face.detections.landmarks).vectors[0])
    gallery = NumpyGallery(np.stack(refs), np.arange(len(refs)))
    feed = _frames(clips[0], 0, 60) + _frames(clips[1], 0, 60)  # same place, hard cut
    sink = ListSink()
    pipe = LivePipeline(
        detector=det,
        embedder=emb,
        gallery=gallery,
        sink=sink,
        settings=settings,
        threshold=settings.matching.threshold,
    )
    for i, img in enumerate(feed):
        pipe.process(Frame(img, "cam", i, i / 25))
    counters = pipe.finish()
    assert [a.label for a in sink.alerts] == [0, 1]
    assert counters.tracks == 2
    first, second = sink.alerts
    assert first.track_id != second.track_id
    assert second.first_frame >= 60 and first.frame_index < 60
    # Caught at the first re-check after the cut, not by re-embedding every frame: an alerted
    # track is looked at again once per `recheck_frames` (at most max_embeddings views each
    # before its alert, then one per interval).
    t = settings.tracking
    assert pipe.finished_tracks[first.track_id][1] < 60 + t.recheck_frames
    assert counters.embedded <= counters.tracks * t.max_embeddings_per_track + len(feed) // (
        t.recheck_frames
    )
