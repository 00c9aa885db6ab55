"""CompactGallery (int8 first pass + exact re-rank) returns what exhaustive search returns."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.errors import FrameShapeError
from openlfr.matching.compact import CompactGallery
from openlfr.matching.gallery import NumpyGallery, build_gallery
from openlfr.matching.protocols import GalleryIndex


def _unit(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _random(rng: np.random.Generator, n: int, d: int = 128) -> np.ndarray:
    return _unit(rng.standard_normal((n, d)))


def _clustered(rng: np.random.Generator, n: int, ids: int, d: int = 128) -> tuple[np.ndarray, ...]:
    """Face-embedding-like: identities are cluster centres, images scatter around them."""
    centres = _unit(rng.standard_normal((ids, d)) + 0.8 * rng.standard_normal(d))
    labels = rng.integers(0, ids, n)
    vectors = _unit(centres[labels] + 0.06 * rng.standard_normal((n, d)))
    return vectors, labels, centres


def _assert_same(ref: GalleryIndex, got: CompactGallery, probes: np.ndarray, k: int) -> None:
    s1, l1 = ref.search(probes, k)
    s2, l2 = got.search(probes, k)
    assert s2.dtype == np.float32 and l2.dtype == np.int64 and s2.shape == (len(probes), k)
    np.testing.assert_array_equal(l1, l2)
    np.testing.assert_allclose(s1, s2, atol=1e-6)


@pytest.mark.parametrize("k", [1, 5, 20])
def test_random_gallery_matches_brute_force(k: int) -> None:
    rng = np.random.default_rng(1)
    vectors = _random(rng, 20_000)
    labels = rng.integers(0, 8_000, 20_000)  # several vectors per label
    probes = np.vstack([_random(rng, 24), vectors[:8] + 0.02])  # impostors and mates
    gallery = CompactGallery(vectors, labels, candidates=16)
    _assert_same(NumpyGallery(vectors, labels), gallery, probes, k)
    assert gallery.stats["exhaustive"] == 0


def test_clustered_gallery_matches_brute_force_and_widens_when_needed() -> None:
    rng = np.random.default_rng(2)
    vectors, labels, centres = _clustered(rng, 30_000, 600)  # ~50 images per identity
    probes = np.vstack(
        [_unit(centres[:10] + 0.05 * rng.standard_normal((10, 128))), _random(rng, 10)]
    )
    gallery = CompactGallery(vectors, labels, candidates=8)
    _assert_same(NumpyGallery(vectors, labels), gallery, probes, 10)
    # 8 candidates per shard cannot hold 10 identities of 50 near-identical images each.
    assert gallery.stats["widened"] > 0


def test_adversarial_near_ties_and_duplicates() -> None:
    """Scores closer together than the int8 error: only the exact re-rank can order them.

    The gaps (2e-5) are far below the first pass's error (~1e-2) yet above fp32 rounding
    (~1e-7): closer than that, two exhaustive fp32 scans with different BLAS kernels can
    already disagree, so that is the meaning of "identical" here.
    """
    rng = np.random.default_rng(3)
    base = _random(rng, 6_000)
    labels = np.arange(6_000, dtype=np.int64)
    probe = _random(rng, 1)[0]
    # 200 vectors whose scores against the probe are 2e-5 apart (far below the int8 step).
    target = 0.6 + 2e-5 * rng.permutation(200)
    ortho = _unit(rng.standard_normal((200, 128)))
    ortho -= np.outer(ortho @ probe, probe)
    ortho = _unit(ortho)
    near = target[:, None] * probe + np.sqrt(1 - target[:, None] ** 2) * ortho
    base[:200] = near.astype(np.float32)
    base[200:260] = base[:60]  # exact duplicates under other labels: ties broken by row
    labels[300:400] = labels[:100]  # and duplicate labels elsewhere
    gallery = CompactGallery(base, labels, candidates=4)
    probes = np.vstack([probe, base[:3], _random(rng, 4)])
    for k in (1, 7, 50):
        _assert_same(NumpyGallery(base, labels), gallery, probes, k)


def test_first_pass_error_never_exceeds_the_proven_bound() -> None:
    rng = np.random.default_rng(4)
    vectors, labels, _ = _clustered(rng, 4_000, 100)
    probes = np.vstack([_random(rng, 8), vectors[:4]])
    gallery = CompactGallery(vectors, labels, threads=1)
    approx = gallery.approx_scores(probes)
    exact = probes.astype(np.float64) @ vectors.T.astype(np.float64)
    worst = np.abs(approx - exact).max(axis=1)
    bound = gallery.error_bound(probes)
    assert (worst <= bound).all()
    assert (bound < 0.05).all()  # and it is tight enough to prune
    # Probes that are not unit length, or zero, are bounded too.
    odd = np.vstack([3.0 * probes[:2], np.zeros((1, 128), np.float32)])
    approx = gallery.approx_scores(odd)
    exact = odd.astype(np.float64) @ vectors.T.astype(np.float64)
    assert (np.abs(approx - exact).max(axis=1) <= gallery.error_bound(odd)).all()


def test_leaders_without_k_labels_widen_and_unlabelled_rows_never_match() -> None:
    """The best 1,500 rows carry label -1 (never a match) or one shared label: the first
    candidates hold fewer than k labels, so the search must widen them, and stay exact."""
    rng = np.random.default_rng(8)
    probe = _random(rng, 1)
    vectors = _random(rng, 24_000)
    labels = rng.integers(0, 12_000, 24_000)
    near = _unit(probe + 0.05 * rng.standard_normal((1_500, 128)))
    vectors[::16][:1_500] = near
    labels[::16][:1_000] = -1
    labels[::16][1_000:1_500] = 7
    gallery = CompactGallery(vectors, labels, candidates=16)
    probes = np.vstack([probe, near[:3], _random(rng, 4)])
    for k in (1, 5, 30):
        _assert_same(NumpyGallery(vectors, labels), gallery, probes, k)
    assert gallery.stats["exhaustive"] == 0


def test_batches_of_any_size_match_single_probes() -> None:
    rng = np.random.default_rng(9)
    vectors, labels, centres = _clustered(rng, 40_000, 4_000)
    probes = np.vstack(
        [_unit(centres[:12] + 0.05 * rng.standard_normal((12, 128))), _random(rng, 9)]
    )  # 21 probes: batches of 8, 8 and 5
    gallery = CompactGallery(vectors, labels, threads=2)
    s_all, l_all = gallery.search(probes, 10)
    for i in (0, 7, 8, 20):
        s_one, l_one = gallery.search(probes[i], 10)
        np.testing.assert_array_equal(l_one[0], l_all[i])
        np.testing.assert_array_equal(s_one[0], s_all[i])
    _assert_same(NumpyGallery(vectors, labels), gallery, probes, 10)
    assert gallery.stats["probes"] == 2 * 21 + 4


def test_k_larger_than_gallery_pads() -> None:
    rng = np.random.default_rng(5)
    vectors = _random(rng, 50)
    labels = np.repeat(np.arange(25), 2)
    probes = _random(rng, 3)
    gallery = CompactGallery(vectors, labels)
    s, lab = gallery.search(probes, 40)
    _assert_same(NumpyGallery(vectors, labels), gallery, probes, 40)
    assert (lab[:, 25:] == -1).all() and np.isneginf(s[:, 25:]).all()
    assert (np.diff(s[:, :25], axis=1) <= 0).all()


def test_empty_gallery() -> None:
    gallery = CompactGallery(np.zeros((0, 128), np.float32), np.zeros(0, np.int64))
    s, lab = gallery.search(np.ones((2, 128), np.float32), 3)
    assert len(gallery) == 0 and s.shape == (2, 3) and (lab == -1).all() and np.isneginf(s).all()


def test_dimension_mismatch_and_bad_shapes_are_refused() -> None:
    rng = np.random.default_rng(6)
    gallery = CompactGallery(_random(rng, 100), np.arange(100))
    with pytest.raises(FrameShapeError, match="expected"):
        gallery.search(_random(rng, 2, d=64), 3)
    with pytest.raises(FrameShapeError, match="NaN"):
        gallery.search(np.full((1, 128), np.nan, np.float32), 3)
    with pytest.raises(FrameShapeError):
        CompactGallery(_random(rng, 10), np.arange(9))


def test_is_a_gallery_index_and_is_chosen_for_large_galleries() -> None:
    rng = np.random.default_rng(7)
    vectors = _random(rng, 3_000)
    labels = np.arange(3_000)
    assert isinstance(CompactGallery(vectors, labels), GalleryIndex)
    chosen = build_gallery(vectors, labels, faiss_above=10_000, compact_above=1_000)
    assert isinstance(chosen, CompactGallery)
    assert not isinstance(build_gallery(vectors, labels, faiss_above=10_000), CompactGallery)
    assert chosen.memory_bytes() <= 1.3 * vectors.nbytes + labels.nbytes + 4096
