"""The honest split, bootstrap summaries and the equality-cause helpers (issue 12)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from suite import data_path

from openlfr.evaluation import face_factors as ff
from openlfr.evaluation import levers as lv
from openlfr.evaluation.improvements import Outcome
from openlfr.vision.images import read_image


@pytest.mark.parametrize("name", ["George_W_Bush", "Laura_Bush", "AJ_Cook", "Zico"])
def test_half_is_sha256_parity(name: str) -> None:
    assert lv.half_of(name) == hashlib.sha256(name.encode()).digest()[0] % 2
    assert lv.half_of(name) in (lv.TUNE, lv.REPORT)


def test_summary_supported_rates_and_cis() -> None:
    rng = np.random.default_rng(3)
    mated = rng.normal(0.7, 0.1, 400)
    o = Outcome(mated, np.ones(400, bool), rng.normal(0.2, 0.1, 500))
    ids = [f"p{i // 4}" for i in range(400)]
    s = lv.summary_with_ci(o, ids, resamples=100)
    assert s["tpir@0.01_supported"] is True  # 500 non-mated: 1e-2 measurable
    assert s["tpir@0.001_supported"] is False and s["tpir@0.0001_supported"] is False
    for k in ("tpir@0.01", "tpir@0.001", "rank1"):
        lo, hi = s[k + "_ci95"]
        assert lo <= s[k] <= hi
    assert s["tpir@0.001"] <= s["tpir@0.01"]


@pytest.mark.parametrize(
    ("miss_a", "miss_b", "mix_a", "mix_b", "expected"),
    [
        # a misses more only because more of its searches fall in the bad stratum: explained.
        ((0.5, 0.1), (0.5, 0.1), (0.8, 0.2), (0.2, 0.8), 0.5 * 0.2 + 0.1 * 0.8),
        # a misses more in every stratum: standardising changes nothing.
        ((0.4, 0.4), (0.1, 0.1), (0.5, 0.5), (0.2, 0.8), 0.4),
    ],
)
def test_standardised_rate(
    miss_a: tuple[float, float],
    miss_b: tuple[float, float],
    mix_a: tuple[float, float],
    mix_b: tuple[float, float],
    expected: float,
) -> None:
    n = 1000
    miss, strata, group = [], [], []
    for g, rates, mix in (("a", miss_a, mix_a), ("b", miss_b, mix_b)):
        for k in (0, 1):
            m = round(n * mix[k])
            hits = round(m * rates[k])
            miss += [True] * hits + [False] * (m - hits)
            strata += [k] * m
            group += [g] * m
    got = ff.standardised_rate(np.array(miss), np.array(strata), np.array(group), "a", "b")
    assert got == pytest.approx(expected, abs=1e-3)


def test_tertiles_and_crop_factors() -> None:
    s = ff.tertiles(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan]))
    assert list(s) == [0, 0, 1, 1, 2, 2, -1]
    img = read_image(data_path("lfw", "images", "AJ_Cook", "AJ_Cook_0001.jpg"))
    crop = np.ascontiguousarray(img[60:172, 70:182])
    edges, var, bright = ff.crop_factors(crop)
    assert 0.0 < edges < 1.0 and var > 0 and 0 < bright < 255
    flat = np.full_like(crop, 128)
    assert ff.crop_factors(flat) == (0.0, 0.0, 128.0)


def _toy_half() -> tuple[lv.Half, np.ndarray, np.ndarray]:
    """A TUNE half of 6 enrolled people (2 probes each), 5 one-image people and a cohort of
    8 people of the other half; random unit vectors, probes near their own template."""
    from pathlib import Path

    from openlfr.evaluation.identify import IdentifySet
    from openlfr.vision.sface import normalise

    names = [f"person{i}" for i in range(200)]
    tune = [n for n in names if lv.half_of(n) == lv.TUNE]
    other = [n for n in names if lv.half_of(n) == lv.REPORT][:8]
    enrolled, single = tune[:6], tune[6:11]
    data = IdentifySet(
        gallery=[(n, Path(f"{n}/0.jpg")) for n in enrolled + other],
        mated=[(n, Path(f"{n}/{k}.jpg")) for n in enrolled for k in (1, 2)],
        nonmated=[(n, Path(f"{n}/0.jpg")) for n in single],
    )
    rng = np.random.default_rng(7)
    base = {n: rng.normal(size=32) for n in enrolled + other + single}
    flat = data.gallery + data.mated + data.nonmated
    vecs = normalise(np.stack([base[n] + 0.6 * rng.normal(size=32) for n, _ in flat]))
    ok = np.ones(len(flat), bool)
    return lv.half_split(data, lv.TUNE, ok), vecs, ok


def test_leave_one_out_nonmated_searches() -> None:
    h, v, ok = _toy_half()
    sc = lv.Scorer(v, v[h.split.gallery], lv.cohort_znorm(v[h.split.gallery], v[h.cohort]))
    plain = lv.run(h, sc, ok)
    loo = lv.run(h, sc, ok, leave_one_out=True)
    n_true, n_mated = h.split.nonmated.size, h.split.mated.size
    assert plain.nonmated_score.size == n_true
    assert loo.nonmated_score.size == n_true + n_mated
    assert np.array_equal(loo.nonmated_score[:n_true], plain.nonmated_score)
    assert np.array_equal(loo.mated_score, plain.mated_score)
    # Each extra search is the probe's best score over every entry but its own.
    s = lv.scores(h, sc, h.split.mated, None)
    s[np.arange(n_mated), h.split.mate_index] = -np.inf
    assert np.allclose(loo.nonmated_score[n_true:], s.max(axis=1))
    ids = lv.nonmated_identities(h, ok, True)
    assert len(ids) == n_true + n_mated and ids[n_true:] == [str(i) for i in h.ids[h.split.mated]]
    summary = lv.summary_with_ci(loo, ids[n_true:], 50, nonmated_ids=ids)
    assert summary["nonmated"] == n_true + n_mated


def test_snorm_is_the_mean_of_template_and_probe_z_scores() -> None:
    h, v, _ = _toy_half()
    g, c, rows = h.split.gallery, h.cohort, h.split.mated
    mu_t, sd_t = lv.cohort_znorm(v[g], v[c])
    sc = lv.Scorer(v, v[g], (mu_t, sd_t), probe_cohort=(v[c], None))
    raw = v[rows] @ v[g].T
    cp = v[rows] @ v[c].T
    t = (raw - cp.mean(1, keepdims=True)) / np.maximum(cp.std(1, keepdims=True), 0.02)
    z = (raw - mu_t) / sd_t
    assert np.allclose(lv.scores(h, sc, rows, None), (z + t) / 2, atol=1e-4)
    assert not np.allclose(
        lv.scores(h, lv.Scorer(v, v[g], (mu_t, sd_t)), rows, None), (z + t) / 2, atol=1e-4
    )


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_as_norm_uses_each_sides_most_similar_cohort_faces(top_k: int) -> None:
    h, v, _ = _toy_half()
    g, c, rows = h.split.gallery, h.cohort, h.split.mated
    assert top_k < c.size  # else AS-norm is plain s-norm
    best_t = -np.sort(-(v[c] @ v[g].T), axis=0)[:top_k]  # each template's top_k cohort scores
    best_p = -np.sort(-(v[rows] @ v[c].T), axis=1)[:, :top_k]
    mu_t, sd_t = lv.cohort_znorm(v[g], v[c], top_k=top_k)
    assert np.allclose(mu_t, best_t.mean(0)) and np.allclose(sd_t, np.maximum(best_t.std(0), 0.02))
    sc = lv.Scorer(v, v[g], (mu_t, sd_t), probe_cohort=(v[c], None), probe_top_k=top_k)
    raw = v[rows] @ v[g].T
    t = (raw - best_p.mean(1, keepdims=True)) / np.maximum(best_p.std(1, keepdims=True), 0.02)
    assert np.allclose(lv.scores(h, sc, rows, None), ((raw - mu_t) / sd_t + t) / 2, atol=1e-4)
    # The whole cohort's statistics differ: top_k really selected.
    assert not np.allclose(lv.cohort_znorm(v[g], v[c])[0], mu_t)
