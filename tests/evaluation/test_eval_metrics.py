"""The shared metric helpers on tiny score arrays whose answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.evaluation import metrics

TEN = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


@pytest.mark.parametrize(
    ("nonmatch", "rate", "above", "accepted"),
    [
        (TEN, 0.1, 0.9, 0.1),  # one of ten may pass: the threshold sits just above 0.9
        (TEN, 0.25, 0.8, 0.2),  # floor(2.5) = 2 may pass
        (TEN, 0.01, 1.0, 0.0),  # fewer than one may pass: above the highest (a bound only)
        (TEN, 0.5, 0.5, 0.5),
        ([0.5] * 4 + [0.1] * 6, 0.2, 0.5, 0.0),  # a tie across the cut: conservative
    ],
)
def test_threshold_at_rate(
    nonmatch: list[float], rate: float, above: float, accepted: float
) -> None:
    t = metrics.threshold_at_rate(nonmatch, rate)
    assert t > above and t == pytest.approx(above)
    assert metrics.accept_rate(nonmatch, t) == pytest.approx(accepted)
    assert metrics.accept_rate(nonmatch, t) <= rate


def test_threshold_at_rate_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        metrics.threshold_at_rate([], 0.1)
    with pytest.raises(ValueError):
        metrics.threshold_at_rate(TEN, 1.0)


@pytest.mark.parametrize(
    ("scores", "labels", "expected"),
    [
        ([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0], 0.75),  # 3 of the 4 (pos, neg) pairs ordered
        ([0.9, 0.1], [1, 0], 1.0),
        ([0.1, 0.9], [1, 0], 0.0),
        ([0.5, 0.5], [1, 0], 0.5),  # a tie counts one half
        ([0.5, 0.5, 0.2], [1, 0, 0], 0.75),  # (0.5 vs 0.5 = 1/2 + 0.5 vs 0.2 = 1) / 2
    ],
)
def test_auc(scores: list[float], labels: list[int], expected: float) -> None:
    assert metrics.auc(scores, labels) == pytest.approx(expected)


def test_auc_needs_both_classes() -> None:
    with pytest.raises(ValueError):
        metrics.auc([0.1, 0.2], [1, 1])


@pytest.mark.parametrize(
    ("scores", "labels", "threshold", "accuracy"),
    [
        ([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], 0.25, 1.0),
        ([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1], 0.15, 0.75),  # ties go to the lowest threshold
        ([0.1, 0.2], [1, 1], -0.9, 1.0),  # accept everything: below the lowest score
        ([0.1, 0.2], [0, 0], 1.2, 1.0),  # reject everything: above the highest
    ],
)
def test_best_threshold(
    scores: list[float], labels: list[int], threshold: float, accuracy: float
) -> None:
    t, acc = metrics.best_threshold(scores, labels)
    assert t == pytest.approx(threshold)
    assert acc == pytest.approx(accuracy)
    assert metrics.accuracy_at(scores, labels, t) == pytest.approx(accuracy)


@pytest.mark.parametrize(
    ("scores", "labels", "folds", "mean", "per_fold"),
    [
        # each fold's threshold, learnt on the other, transfers: perfect
        ([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], [0, 0, 1, 1], 1.0, [1.0, 1.0]),
        # fold 1 learns 0.6, which rejects fold 0's 0.3 match; fold 0 learns 0.2, which accepts
        # fold 1's 0.5 non-match: 0.5 each, although each fold alone is separable
        ([0.1, 0.3, 0.5, 0.7], [0, 1, 0, 1], [0, 0, 1, 1], 0.5, [0.5, 0.5]),
    ],
)
def test_fold_accuracy(
    scores: list[float], labels: list[int], folds: list[int], mean: float, per_fold: list[float]
) -> None:
    fa = metrics.fold_accuracy(scores, labels, folds)
    assert fa.mean == pytest.approx(mean)
    assert fa.per_fold == pytest.approx(per_fold)


def test_det_points_counts_only_rank1_hits() -> None:
    ths, fp, fn = metrics.det_points([0.2, 0.6], [0.5, 0.9], [True, False])
    # thresholds: the non-mated scores and the hits' scores, then one just above the highest
    assert ths[:3].tolist() == [0.2, 0.5, 0.6] and ths[3] == pytest.approx(0.6) and ths[3] > 0.6
    assert fp.tolist() == [1.0, 0.5, 0.5, 0.0]
    # the 0.9 mate is not at rank 1: a miss at every threshold
    assert fn.tolist() == [0.5, 0.5, 1.0, 1.0]


def test_bootstrap_keeps_units_together() -> None:
    # every identity misses 1 of its 2 searches: every resample gives exactly 0.5
    b = metrics.bootstrap_rates(np.array([1, 1, 1]), np.array([2, 2, 2]), resamples=200)
    assert metrics.percentile_ci(b) == pytest.approx((0.5, 0.5))
    # one identity with all the events: the interval is wide and contains the point estimate
    b = metrics.bootstrap_rates(np.array([5, 0, 0, 0]), np.array([5, 5, 5, 5]), resamples=500)
    lo, hi = metrics.percentile_ci(b)
    assert lo == 0.0 and 0.25 < hi <= 1.0
    assert np.isnan(metrics.bootstrap_rates(np.array([]), np.array([]), resamples=3)).all()


@pytest.mark.parametrize(
    ("a", "b", "significant", "ratio"),
    [
        ([0.5] * 50, [0.1] * 50, True, 5.0),
        (list(np.linspace(0.0, 0.4, 50)), list(np.linspace(0.1, 0.3, 50)), False, 1.0),
        ([0.2] * 50, [0.0] * 50, True, None),  # a rate against zero: no ratio
    ],
)
def test_compare_rates(
    a: list[float], b: list[float], significant: bool, ratio: float | None
) -> None:
    ra, rb = float(np.mean(a)), float(np.mean(b))
    c = metrics.compare_rates("A", np.array(a), ra, "B", np.array(b), rb)
    assert c.significant is significant
    assert c.ratio == (pytest.approx(ratio) if ratio is not None else None)


def test_rate_keys_are_the_interface_keys() -> None:
    assert [metrics.rate_key(r) for r in metrics.RATES] == ["0.01", "0.001", "0.0001"]


@pytest.mark.parametrize(
    ("events", "trials", "expected"),
    [
        (0, 100, (0.0, 1 - 0.025 ** (1 / 100))),  # no event: exact bound (about 3.7/n), not [0, 0]
        (10, 10, (0.025 ** (1 / 10), 1.0)),
        (3, 0, None),
    ],
)
def test_rate_ci_at_the_edges(
    events: int, trials: int, expected: tuple[float, float] | None
) -> None:
    lo, hi = metrics.rate_ci(np.full(50, events / max(trials, 1)), events, trials)
    if expected is None:
        assert np.isnan(lo) and np.isnan(hi)
    else:
        assert (lo, hi) == pytest.approx(expected)


def test_rate_ci_uses_the_bootstrap_in_between() -> None:
    boot = np.linspace(0.1, 0.3, 1001)
    assert metrics.rate_ci(boot, 2, 10) == pytest.approx(metrics.percentile_ci(boot))


def test_unmeasurable_rates_are_noted() -> None:
    assert metrics.unmeasurable("x", 20_000) == []
    notes = metrics.unmeasurable("x", 2_019)
    assert len(notes) == 1 and "0.0001" in notes[0] and "10000" in notes[0]
    assert len(metrics.unmeasurable("x", 50)) == 3
