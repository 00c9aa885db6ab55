"""Accuracy levers (issue 5, item 5): flip TTA in the embedder, score normalisation, fusion."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from suite import data_path

from openlfr.config import TrackingSettings, VisionSettings
from openlfr.evaluation import improvements as imp
from openlfr.pipeline.tracks import TrackState, View
from openlfr.vision.align import align_face
from openlfr.vision.factory import build_embedder
from openlfr.vision.images import find_single_face, read_image
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture(scope="module")
def crop(models: tuple[Detector, Embedder]) -> np.ndarray:
    face_file = data_path("lfw", "images", "Abel_Pacheco", "Abel_Pacheco_0001.jpg")
    face = find_single_face(read_image(face_file), models[0], face_file.name, several="central")
    return align_face(face.image, face.detections.landmarks[0])


def test_flip_tta_is_the_mean_of_face_and_mirror(
    crop: np.ndarray, models: tuple[Detector, Embedder]
) -> None:
    plain = models[1]
    flip = build_embedder(VisionSettings(flip_tta=True))
    a, b = plain.embed_aligned([crop, cv2.flip(crop, 1)]).vectors  # type: ignore[attr-defined]
    want = (a + b) / np.linalg.norm(a + b)
    got = flip.embed_aligned([crop]).vectors[0]  # type: ignore[attr-defined]
    assert np.allclose(got, want, atol=1e-5)
    assert float(a @ b) < 0.999  # the mirror really is a different input
    mirrored = flip.embed_aligned([cv2.flip(crop, 1)]).vectors[0]  # type: ignore[attr-defined]
    assert float(got @ mirrored) > 0.9999  # and TTA makes the vector mirror-invariant


def test_znorm_reranks_by_each_entry_impostor_distribution() -> None:
    # Entry 0 scores high against everyone (mean 0.6); entry 1 is normally low (mean 0.27).
    gallery_sims = np.array([[1.0, 0.5, 0.6, 0.7], [0.5, 1.0, 0.1, 0.2],
                             [0.6, 0.1, 1.0, 0.3], [0.7, 0.2, 0.3, 1.0]])  # fmt: skip
    probe = np.array([[0.65, 0.5, 0.0, 0.0]])
    raw, who = imp.raw_scorer(probe, gallery_sims)
    assert who[0] == 0 and raw[0] == pytest.approx(0.65)
    z, zwho = imp.znorm_scorer(probe, gallery_sims)
    mu, sd = imp.gallery_impostor_stats(gallery_sims)
    assert mu[1] == pytest.approx((0.5 + 0.1 + 0.2) / 3)
    assert zwho[0] == 1 and z[0] == pytest.approx((0.5 - mu[1]) / sd[1])


def test_cohort_score_is_top1_minus_mean_of_next_k() -> None:
    sims = np.array([np.linspace(0.9, 0.0, 12)])
    score, who = imp.cohort_scorer(sims, np.eye(12))
    assert who[0] == 0
    assert score[0] == pytest.approx(0.9 - float(np.mean(sims[0, 1 : 1 + imp.COHORT_K])))


def test_track_fusion_weights_views_by_quality() -> None:
    """The default kept after measuring (item 5 d): a better view pulls the fused vector."""
    s = TrackingSettings()
    t = TrackState(1, 0, 0)
    e0, e1 = np.eye(2, dtype=np.float32)
    t.add_view(View(e0, 3.0, 0), np.zeros((2, 2, 3), np.uint8), s)
    t.add_view(View(e1, 1.0, 5), np.zeros((2, 2, 3), np.uint8), s)
    fused = t.fused()
    assert fused[0] == pytest.approx(3 / np.sqrt(10), abs=1e-6)
    assert fused[1] == pytest.approx(1 / np.sqrt(10), abs=1e-6)
