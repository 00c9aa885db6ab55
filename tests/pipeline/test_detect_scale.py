"""Detection between keyframes on a frame shrunk to the faces in view (pipeline/detect_scale):
cheaper where faces are large, and on real footage the same faces, tracks and alerts as
full-size detection on every frame."""

from __future__ import annotations

import math
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from openlfr.config import Settings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.alerts import ListSink
from openlfr.pipeline.detect_scale import MIN_SIDE, DetectionScale
from openlfr.pipeline.live import LivePipeline
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

FRAME = np.zeros((360, 640, 3), np.uint8)


def _settings(every: int) -> Settings:
    s = Settings()
    return s.model_copy(update={"vision": s.vision.model_copy(update={"full_detect_every": every})})


def test_keyframes_are_full_size_and_the_rest_shrink_to_the_smallest_face() -> None:
    vision = _settings(4).vision
    scale = DetectionScale(vision)
    full = min(vision.detect_max_side, max(FRAME.shape))
    sides = []
    for i in range(9):
        sides.append(scale.side(FRAME))
        scale.observe(np.array([150.0, 200.0] if i < 6 else [], np.float32))
    assert sides[0] == sides[4] == sides[8] == full
    # The 150 px face ends at least tracked_face_px tall, and the frame is smaller than full.
    for side in sides[1:4] + sides[5:8]:
        assert side < full and 150.0 * side / max(FRAME.shape) >= vision.tracked_face_px
    assert (scale.keyframes, scale.shrunk) == (3, 6)


def test_no_face_since_the_keyframe_gives_the_coarsest_size_and_a_small_face_none() -> None:
    vision = _settings(4).vision
    scale = DetectionScale(vision)
    full = min(vision.detect_max_side, max(FRAME.shape))
    scale.side(FRAME)
    scale.observe(np.zeros(0, np.float32))
    assert scale.side(FRAME) == MIN_SIDE
    # A face at the evidence floor: nothing can be shrunk without losing it.
    scale.observe(np.array([Settings().evidence.hard_min_face_px], np.float32))
    assert scale.side(FRAME) == full


def test_every_one_detects_every_frame_at_full_size() -> None:
    vision = _settings(1).vision
    scale = DetectionScale(vision)
    for _ in range(5):
        assert scale.side(FRAME) == min(vision.detect_max_side, max(FRAME.shape))
        scale.observe(np.array([300.0], np.float32))
    assert scale.shrunk == 0


def _frames(clip: Path, count: int, start: float = 0.0) -> list[np.ndarray]:
    out = []
    with av.open(str(clip)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= start:
                out.append(np.ascontiguousarray(f.to_ndarray(format="bgr24")))
            if len(out) == count:
                break
    return out


def _run(
    every: int, feed: list[np.ndarray], gallery: NumpyGallery, models: tuple[Detector, Embedder]
) -> tuple[LivePipeline, ListSink]:
    settings = _settings(every)
    sink = ListSink()
    pipe = LivePipeline(
        detector=models[0],
        embedder=models[1],
        gallery=gallery,
        sink=sink,
        settings=settings,
        threshold=settings.matching.threshold,
    )
    for i, img in enumerate(feed):
        pipe.process(Frame(img, "cam", i, i / 25))
    pipe.finish()
    return pipe, sink


@pytest.mark.slow
def test_real_talking_head_finds_the_same_faces_and_alert_on_shrunk_frames(
    shared_data: Path, models: tuple[Detector, Embedder]
) -> None:
    clip = shared_data / "video" / "WDA_KatieHill_000.mp4"
    [ref_img] = _frames(clip, 1, start=7.5)  # footage the feed below does not use
    ref = models[0].detect(ref_img)
    gallery = NumpyGallery(models[1].embed(ref_img, ref.landmarks[:1]).vectors, np.arange(1))
    feed = _frames(clip, 40)
    full, full_sink = _run(1, feed, gallery, models)
    cheap, cheap_sink = _run(4, feed, gallery, models)
    assert cheap.analysis.scale.shrunk >= len(feed) // 2  # most frames were detected small
    assert full.analysis.scale.shrunk == 0
    assert cheap.counters.faces == full.counters.faces == len(feed)
    assert cheap.counters.tracks == full.counters.tracks
    assert [a.label for a in cheap_sink.alerts] == [a.label for a in full_sink.alerts] == [0]
    assert math.isclose(cheap_sink.alerts[0].score, full_sink.alerts[0].score, abs_tol=0.05)


def test_a_crowd_of_small_faces_is_never_shrunk(
    shared_data: Path, models: tuple[Detector, Embedder]
) -> None:
    detector = models[0]
    scale = DetectionScale(_settings(4).vision)
    found_full = found_policy = 0
    for img in _frames(shared_data / "video" / "crowd_1080p.mp4", 8):
        dets = detector.detect(img, max_side=scale.side(img))
        scale.observe(dets.sizes)
        found_policy += len(dets)
        found_full += len(detector.detect(img))
    assert found_full > 0 and scale.shrunk == 0 and found_policy == found_full


def test_a_large_frame_shrunk_by_halvings_finds_what_one_area_resize_finds(
    shared_data: Path, models: tuple[Detector, Embedder]
) -> None:
    # The detector halves a 1080p frame by area averaging (fast only at exactly 2x) and
    # area-resizes the rest of the way to detect_max_side: the faces and their scores must be
    # those of one direct area resize, the slow way it replaced.
    detector, max_side = models[0], Settings().vision.detect_max_side
    matched = 0
    for img in _frames(shared_data / "video" / "crowd_1080p.mp4", 30)[::10]:
        h, w = img.shape[:2]
        s = max_side / max(h, w)
        small = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        halved, direct = detector.detect(img), detector.detect(small)
        centres = (halved.boxes[:, :2] + halved.boxes[:, 2:]) / 2 * s
        for box, score in zip(direct.boxes, direct.scores, strict=True):
            gap = np.linalg.norm(centres - (box[:2] + box[2:]) / 2, axis=1)
            nearest = int(np.argmin(gap))
            assert gap[nearest] < 3.0 and abs(halved.scores[nearest] - score) < 0.03
            matched += 1
    assert matched >= 10
