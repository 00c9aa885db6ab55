"""Gallery search (numpy and FAISS agree, exactly), decisions and per-track fusion."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.config import TrackingSettings
from openlfr.matching.decision import decide
from openlfr.matching.gallery import FaissGallery, NumpyGallery, build_gallery
from openlfr.pipeline.tracks import TrackState, View


def _unit(rng: np.random.Generator, n: int, d: int = 128) -> np.ndarray:
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_numpy_and_faiss_return_the_same_candidates() -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng, 3000)
    labels = rng.integers(0, 1000, size=3000)  # several vectors per label
    probes = _unit(rng, 50)
    s1, l1 = NumpyGallery(vectors, labels).search(probes, 5)
    s2, l2 = FaissGallery(vectors, labels).search(probes, 5)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_allclose(s1, s2, atol=1e-5)
    # Brute force, by hand: best score per label.
    sims = probes @ vectors.T
    for q in range(5):
        best = {}
        for s, lab in zip(sims[q], labels):
            best[int(lab)] = max(best.get(int(lab), -2.0), float(s))
        expected = sorted(best, key=lambda k: -best[k])[:5]
        assert l1[q].tolist() == expected


def test_empty_gallery_and_factory_choice() -> None:
    g = NumpyGallery(np.zeros((0, 128), np.float32), np.zeros(0, np.int64))
    scores, labels = g.search(np.ones((1, 128), np.float32), 2)
    assert labels.tolist() == [[-1, -1]] and np.isneginf(scores).all()
    rng = np.random.default_rng(1)
    v = _unit(rng, 10)
    assert isinstance(build_gallery(v, np.arange(10), faiss_above=5), FaissGallery)
    assert isinstance(build_gallery(v, np.arange(10), faiss_above=50), NumpyGallery)


@pytest.mark.parametrize(
    ("scores", "labels", "threshold", "matched", "label", "margin"),
    [
        ([0.62, 0.30], [4, 9], 0.5, True, 4, 0.32),
        ([0.49, 0.30], [4, 9], 0.5, False, 4, 0.19),
        ([0.50, 0.50], [4, 9], 0.5, True, 4, 0.0),
        ([0.70, -np.inf], [2, -1], 0.5, True, 2, np.inf),
        ([-np.inf, -np.inf], [-1, -1], 0.5, False, -1, np.inf),
    ],
)
def test_decide(
    scores: list[float],
    labels: list[int],
    threshold: float,
    matched: bool,
    label: int,
    margin: float,
) -> None:
    d = decide(np.array(scores, np.float32), np.array(labels), threshold)
    assert (d.matched, d.label) == (matched, label)
    assert d.margin == pytest.approx(margin, abs=1e-6)


S = TrackingSettings(max_embeddings_per_track=3, min_embed_gap_frames=3, quality_gain=1.5)


@pytest.mark.parametrize(
    ("kept", "last", "frame", "quality", "alerted", "wanted"),
    [
        ([], -1, 0, 1.0, False, True),  # first usable view always
        ([1.0], 0, 1, 1.0, False, False),  # too soon, not better
        ([1.0], 0, 1, 2.0, False, True),  # too soon but much better
        ([1.0], 0, 3, 0.5, False, True),  # spaced enough
        ([1.0, 1.0, 1.0], 0, 9, 1.2, False, False),  # full, not better than the worst by 1.5x
        ([1.0, 1.0, 1.0], 0, 9, 2.0, False, True),  # full, clearly better
        ([1.0], 0, 20, 9.0, True, False),  # alerted: nothing left to decide...
        ([1.0], 0, 25, 0.1, True, True),  # ...but a periodic re-check for a hand-over
        ([1.0, 1.0, 1.0], 0, 25, 0.1, False, True),  # full: re-check too
    ],
)
def test_track_embeds_its_best_views(
    kept: list[float], last: int, frame: int, quality: float, alerted: bool, wanted: bool
) -> None:
    t = TrackState(1, 0, frame)
    for q in kept:
        t.views.append(View(np.ones(2, np.float32) / np.sqrt(2), q, last))
    t.best_quality = max(kept, default=0.0)
    t.last_embed_frame = last
    if alerted:
        t.alerted.add(0)
    assert t.wants_view(quality, frame, S) is wanted


def test_fusion_keeps_the_best_views_and_is_unit_length() -> None:
    t = TrackState(1, 0, 0)
    rng = np.random.default_rng(3)
    for i, q in enumerate([1.0, 5.0, 2.0, 4.0]):
        t.add_view(View(_unit(rng, 1)[0], q, i * 3), np.zeros((4, 4, 3), np.uint8), S)
    assert sorted(v.quality for v in t.views) == [2.0, 4.0, 5.0]
    assert t.best_quality == 5.0
    assert np.linalg.norm(t.fused()) == pytest.approx(1.0, abs=1e-5)
