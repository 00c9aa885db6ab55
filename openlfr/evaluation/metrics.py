"""Score metrics shared by `eval pairs` and `eval identify`: thresholds at a false-positive
rate, ROC/DET points, AUC, fold accuracy and bootstrap confidence intervals.

Conventions (one for both commands, so their numbers compare):

* Scores are cosine similarities; higher means "more alike". A comparison is accepted when
  ``score >= threshold``.
* ``threshold_at_rate(nonmatch, x)`` returns the threshold that at most a fraction ``x`` of the
  non-match scores reach: the score that ``floor(x * n)`` of them exceed, nudged up by one ulp so
  that the ``>=`` rule does not accept that score itself. When ``x * n < 1`` no non-match may be
  accepted, so the threshold sits just above the highest non-match score: there are too few
  non-matches to measure ``x``, and the true-match rate there is only a lower bound.
* Rates are plain Python floats, so that they serialise to JSON as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

# The lowest cosine similarity: the score given to a comparison that could not be made because a
# face was not found (a failure to enrol). It counts as a non-match: a miss for a mated
# comparison, a correct rejection for a non-mated one.
LOWEST_SCORE = -1.0
RATES: tuple[float, ...] = (0.01, 0.001, 0.0001)


def rate_key(rate: float) -> str:
    """0.001 -> "0.001" (the JSON keys of the fixed interface)."""
    return f"{rate:g}"


def _as_scores(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(scores, dtype=np.float64).ravel()


def threshold_at_rate(nonmatch: Sequence[float] | np.ndarray, rate: float) -> float:
    """The threshold at which at most `rate` of `nonmatch` scores are accepted (see module doc)."""
    s = _as_scores(nonmatch)
    if s.size == 0:
        raise ValueError("no non-match scores to set a threshold from")
    if not 0.0 < rate < 1.0:
        raise ValueError(f"rate must be in (0, 1), got {rate}")
    desc = np.sort(s)[::-1]
    k = int(np.floor(rate * s.size + 1e-9))
    return float(np.nextafter(desc[k], np.inf))


def accept_rate(scores: Sequence[float] | np.ndarray, threshold: float) -> float:
    """Fraction of `scores` at or above `threshold` (0.0 for no scores)."""
    s = _as_scores(scores)
    return float(np.count_nonzero(s >= threshold) / s.size) if s.size else 0.0


def auc(scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; a tie counts one half)."""
    s = _as_scores(scores)
    y = np.asarray(labels, dtype=bool).ravel()
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both match and non-match comparisons")
    ranks = rankdata(s)
    u = float(ranks[y].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


def best_threshold(
    scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray
) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy; candidates are midpoints between successive
    distinct scores, plus one below and one above all of them. Ties go to the lowest threshold."""
    s = _as_scores(scores)
    y = np.asarray(labels, dtype=bool).ravel()
    if s.size == 0:
        raise ValueError("no scores")
    u = np.unique(s)
    cands = np.concatenate([[u[0] - 1.0], (u[:-1] + u[1:]) / 2.0, [u[-1] + 1.0]])
    pos = np.sort(s[y])
    neg = np.sort(s[~y])
    # accepted positives: count >= t; rejected negatives: count < t.
    tp = pos.size - np.searchsorted(pos, cands, side="left")
    tn = np.searchsorted(neg, cands, side="left")
    acc = (tp + tn) / s.size
    i = int(np.argmax(acc))
    return float(cands[i]), float(acc[i])


def accuracy_at(
    scores: Sequence[float] | np.ndarray, labels: Sequence[bool] | np.ndarray, threshold: float
) -> float:
    s = _as_scores(scores)
    y = np.asarray(labels, dtype=bool).ravel()
    return float(np.mean((s >= threshold) == y))


@dataclass(frozen=True)
class FoldAccuracy:
    mean: float
    std: float
    per_fold: list[float]
    thresholds: list[float]


def fold_accuracy(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    folds: Sequence[int] | np.ndarray,
) -> FoldAccuracy:
    """LFW protocol: for each fold, the best threshold on the other folds, tested on that fold."""
    s = _as_scores(scores)
    y = np.asarray(labels, dtype=bool).ravel()
    f = np.asarray(folds).ravel()
    names = np.unique(f)
    if names.size < 2:
        raise ValueError("fold accuracy needs at least two folds")
    accs: list[float] = []
    ths: list[float] = []
    for name in names:
        test = f == name
        t, _ = best_threshold(s[~test], y[~test])
        ths.append(t)
        accs.append(accuracy_at(s[test], y[test], t))
    return FoldAccuracy(float(np.mean(accs)), float(np.std(accs)), accs, ths)


def det_points(
    nonmatch: Sequence[float] | np.ndarray,
    match: Sequence[float] | np.ndarray,
    hit: Sequence[bool] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds, false-positive rates, false-negative rates), thresholds ascending.

    `match` are the mated scores; `hit` (default all true) marks those that can count as true
    positives at all (in identification: the mate is at rank 1). A mated comparison is a false
    negative at threshold t unless it is a hit with score >= t.
    """
    neg = np.sort(_as_scores(nonmatch))
    pos_all = _as_scores(match)
    ok = np.ones(pos_all.size, bool) if hit is None else np.asarray(hit, bool).ravel()
    pos = np.sort(pos_all[ok])
    ths = np.unique(np.concatenate([neg, pos]))
    ths = np.concatenate([ths, [np.nextafter(ths[-1], np.inf)]]) if ths.size else ths
    fp = (neg.size - np.searchsorted(neg, ths, side="left")) / max(neg.size, 1)
    tp = (pos.size - np.searchsorted(pos, ths, side="left")) / max(pos_all.size, 1)
    return ths, fp.astype(np.float64), (1.0 - tp).astype(np.float64)


# --- bootstrap over units (identities) -------------------------------------------------------


def _ratio_of_sums(events: np.ndarray, trials: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return events / trials


def bootstrap_rates(
    events: np.ndarray, trials: np.ndarray, *, resamples: int = 2000, seed: int = 0
) -> np.ndarray:
    """Bootstrap distribution of sum(events) / sum(trials), resampling units with replacement.

    `events[i]` and `trials[i]` are one unit's counts (one identity: its false positives or
    misses, and its searches), so searches of the same person stay together, as NPL did.
    Returns `resamples` rates (NaN where a resample has no trials).
    """
    ev = np.asarray(events, dtype=np.float64).ravel()
    tr = np.asarray(trials, dtype=np.float64).ravel()
    if ev.size == 0:
        return np.full(resamples, np.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, ev.size, size=(resamples, ev.size))
    return _ratio_of_sums(ev[idx].sum(axis=1), tr[idx].sum(axis=1))


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the finite samples; (nan, nan) when none is finite."""
    x = np.asarray(samples, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (float("nan"), float("nan"))
    a = (1.0 - level) / 2.0
    lo, hi = np.quantile(x, [a, 1.0 - a])
    return (float(lo), float(hi))


def rate_ci(
    boot: np.ndarray, events: float, trials: float, level: float = 0.95
) -> tuple[float, float]:
    """95% CI of a rate: the bootstrap percentile interval, except where no event (or nothing
    but events) occurred, where every resample gives the same rate and the interval would
    collapse to a point; there the exact Clopper-Pearson bound on the pooled searches is used."""
    n, k = round(trials), round(events)
    if n == 0:
        return (float("nan"), float("nan"))
    a = (1.0 - level) / 2.0
    if k == 0:
        return (0.0, float(1.0 - a ** (1.0 / n)))
    if k == n:
        return (float(a ** (1.0 / n)), 1.0)
    return percentile_ci(boot, level)


def unmeasurable(label: str, n_nonmatch: int, what: str = "non-mated searches") -> list[str]:
    """Notes for the rates in RATES that `n_nonmatch` non-matches are too few to measure."""
    return [
        f"{label}: rate {rate_key(r)} needs at least {round(1 / r)} {what}; with {n_nonmatch} "
        "its threshold sits above all of them (the true-match rate there is a lower bound)"
        for r in RATES
        if r * n_nonmatch < 1
    ]


@dataclass(frozen=True)
class Comparison:
    """Group `a` against group `b` on one rate, from independent bootstraps of each."""

    a: str
    b: str
    rate_a: float
    rate_b: float
    diff_ci: tuple[float, float]  # CI of rate_a - rate_b
    ratio: float | None  # rate_a / rate_b (None when rate_b is 0)
    ratio_ci: tuple[float, float] | None

    @property
    def significant(self) -> bool:
        lo, hi = self.diff_ci
        return bool(lo > 0.0 or hi < 0.0)

    def as_entry(self, metric: str) -> dict[str, Any]:
        """The comparison as `eval identify` reports it (group `a` is the worse-faring one)."""
        return {
            "metric": metric,
            "worse": self.a,
            "better": self.b,
            "rate_worse": self.rate_a,
            "rate_better": self.rate_b,
            "difference": self.rate_a - self.rate_b,
            "difference_ci95": list(self.diff_ci),
            "ratio": self.ratio,
            "ratio_ci95": list(self.ratio_ci) if self.ratio_ci else None,
            "significant": self.significant,
        }

    def finding(self, metric: str) -> str:
        """One sentence for a verdict: who fares worse, by how much, with the CI."""
        ratio = f"{self.ratio:.2f}x" if self.ratio is not None else "from zero"
        lo, hi = self.diff_ci
        return (
            f"{metric.upper()}: {self.a} fares worse than {self.b} ({self.rate_a:.4f} vs "
            f"{self.rate_b:.4f}, {ratio}; difference {self.rate_a - self.rate_b:+.4f}, 95% CI "
            f"{lo:+.4f} to {hi:+.4f})"
        )


def compare_rates(
    a: str,
    boot_a: np.ndarray,
    rate_a: float,
    b: str,
    boot_b: np.ndarray,
    rate_b: float,
) -> Comparison:
    diff = boot_a - boot_b
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio_samples = np.where(boot_b > 0, boot_a / boot_b, np.nan)
    ratio = rate_a / rate_b if rate_b > 0 else None
    ratio_ci = percentile_ci(ratio_samples) if ratio is not None else None
    return Comparison(a, b, rate_a, rate_b, percentile_ci(diff), ratio, ratio_ci)


#: Fewest identities a group needs before its rates are judged (compared for equitability):
#: below it a bootstrap over identities is too coarse and one person's errors swing the rate.
MIN_GROUP_IDENTITIES = 30


def too_small_to_judge(identities: int, minimum: int = MIN_GROUP_IDENTITIES) -> bool:
    return identities < minimum
