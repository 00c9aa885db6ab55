"""Pose- and size-aware evidence: the rules, then one turned face from real video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from openlfr.config import MatchingSettings, QualitySettings, Settings
from openlfr.config_evidence import EvidenceSettings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.analysis import CameraAnalysis
from openlfr.pipeline.evidence import accumulate, required_score, view_weight, within_floor
from openlfr.pipeline.tracks import TrackState, View
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.quality import pose_asymmetry
from openlfr.vision.types import Frame

Q, M, E = QualitySettings(), MatchingSettings(), EvidenceSettings()
T = 0.5  # an operating threshold; single_view_extra 0.1, weak_view_extra 0.05


@pytest.mark.parametrize(
    ("asym", "size", "weight"),
    [
        (0.0, 120.0, 1.0),  # frontal, large: a full view, as before
        (0.45, 40.0, 1.0),  # exactly at the old gate
        (0.65, 120.0, 0.675),  # three-quarter: half-way to the floor
        (0.85, 120.0, 0.35),  # at the pose floor
        (0.0, 30.0, 0.675),  # small: half-way between 40 and 20 px
        (0.0, 20.0, 0.35),  # at the size floor
        (0.85, 20.0, 0.35 * 0.35),  # both: the factors multiply
    ],
)
def test_view_weight(asym: float, size: float, weight: float) -> None:
    assert view_weight(asym, size, Q, E) == pytest.approx(weight)


@pytest.mark.parametrize(
    ("asym", "size", "searched"),
    [
        (0.3, 100.0, True),
        (0.6, 70.0, True),
        (0.85, 20.0, True),
        (0.86, 100.0, False),
        (0.2, 19.0, False),
    ],
)
def test_hard_floor(asym: float, size: float, searched: bool) -> None:
    assert within_floor(asym, size, Q, E) is searched


def _views_to_alert(score: float, weight: float, limit: int = 20) -> int | None:
    """Views of this weight, each leaving the fused score at `score`, until the track alerts."""
    for n in range(1, limit + 1):
        if score >= required_score(T, accumulate([weight] * n), M, E):
            return n
    return None


@pytest.mark.parametrize(
    ("score", "asym", "size", "views"),
    [
        (0.62, 0.0, 120.0, 1),  # frontal big face, one strong view: alerts at once, as before
        (0.55, 0.0, 120.0, 2),  # frontal, moderate: two views, as before (min_views 2)
        (0.62, 0.65, 120.0, 2),  # three-quarter at the same strong score: needs another view
        (0.67, 0.65, 120.0, 1),  # ...unless the match is clearer still
        (0.55, 0.65, 120.0, 3),  # three-quarter, moderate: 3 views (evidence 2.03)
        (0.62, 0.0, 24.0, 3),  # tiny (24 px) face at a strong score: more views still
        (0.55, 0.85, 20.0, 17),  # at both floors: a long, consistent track only
        (0.49, 0.0, 120.0, None),  # below the operating threshold: never, whatever the views
    ],
)
def test_turned_and_small_faces_need_more_evidence(
    score: float, asym: float, size: float, views: int | None
) -> None:
    assert _views_to_alert(score, view_weight(asym, size, Q, E)) == views


def test_track_accumulates_every_embedded_views_weight() -> None:
    s = TrackState(1, 0, 0)
    v = np.ones(4, np.float32) / 2
    for i in range(7):  # more than max_embeddings_per_track (5): evidence still grows
        s.add_view(View(v, 1.0, i, weight=0.4), np.zeros((2, 2, 3), np.uint8), Settings().tracking)
    assert len(s.views) == 5 and s.evidence == pytest.approx(2.8)


def _frame(shared_data: Path, clip: str, index: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(shared_data / "video" / clip))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, image = cap.read()
    cap.release()
    assert ok
    return image


@pytest.mark.parametrize("hard_gate", [True, False])
def test_a_turned_face_in_real_video_is_now_searched(
    shared_data: Path, models: tuple[Detector, Embedder], hard_gate: bool
) -> None:
    detector, embedder = models
    image = _frame(shared_data, "WDA_KatieHill_000.mp4", 60)
    dets = detector.detect(image)
    assert len(dets) == 1
    asym = pose_asymmetry(dets.landmarks[0])
    assert 0.45 < asym <= 0.85  # three-quarter: refused by the old gate
    # An unrelated gallery: the face is searched, finds nothing and leaves only counts (R8).
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((20, 128)).astype(np.float32)
    gallery = NumpyGallery(vecs / np.linalg.norm(vecs, axis=1, keepdims=True), np.arange(20))
    s = Settings()
    if hard_gate:  # the floors at the old bar: what the pipeline did before
        s = s.model_copy(
            update={"evidence": EvidenceSettings(hard_max_asymmetry=0.45, hard_min_face_px=40)}
        )
    cam = CameraAnalysis(gallery=gallery, settings=s, threshold=0.5)
    frame = Frame(camera_id="c1", index=0, timestamp=0.0, image=image)
    pending = cam.prepare(frame, dets)
    vectors = embedder.embed_batch([p.aligned for p in pending]).vectors if pending else None
    alerts = cam.decide(frame, pending, vectors if vectors is not None else np.zeros((0, 128)))
    counters = cam.finish()
    assert alerts == [] and counters.faces == 1 and counters.alerts == 0
    assert counters.embedded == (0 if hard_gate else 1)
    if not hard_gate:
        assert 0.35 < pending[0].weight < 1.0
