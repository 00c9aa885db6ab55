"""Cohort z-normalisation of a gallery's scores (issue 12 item 1), behind the GalleryIndex protocol.

Some reference images look like many people ("lambs"): their cosine to strangers runs high, and
with one threshold they raise most of the false alerts. Z-norm rescales each entry's score by
that entry's own distribution of scores against a cohort of faces of people not on the
watchlist: z = (cosine - mean_entry) / std_entry. Every entry then has the same impostor scale,
so one threshold means the same false-alert chance for each.

`NormalisedGallery` wraps any `GalleryIndex`, so the pipeline needs no change. It returns the
z-score mapped back onto a cosine-like scale, score = mu0 + sd0 * z, where mu0 and sd0 are the
mean and std of cosines BETWEEN the cohort's faces (fixed for a cohort file, independent of the
watchlist): an entry with typical impostor statistics keeps its raw cosine, a "lamb" is marked
down, and thresholds of interest stay in the [-1, 1] range that MatchingSettings and deployments
accept (a very strong match may score a little above 1). The
order of candidates is that of z. Thresholds must still be calibrated on this scale
(`openlfr.evaluation.calibration.scores_from_vectors(..., cohort=...)` uses the same mapping).
"""

from __future__ import annotations

import numpy as np

from openlfr.errors import FrameShapeError
from openlfr.matching.protocols import GalleryIndex

#: Labels fetched from the inner index per probe before re-ranking by z-score. A label whose
#: cosine is not among the best EXACT_UP_TO is re-ranked from this set only (documented
#: approximation, only for very large galleries: live watchlists are far smaller).
EXACT_UP_TO = 4096


def cohort_reference(cohort: np.ndarray) -> tuple[float, float]:
    """(mu0, sd0): mean and std of the cosines between distinct cohort faces."""
    c = np.atleast_2d(np.asarray(cohort, np.float32))
    if c.shape[0] < 2:
        raise ValueError(f"a cohort needs at least 2 faces, got {c.shape[0]}")
    sims = (c @ c.T).astype(np.float64)
    off = sims[~np.eye(c.shape[0], dtype=bool)]
    return float(off.mean()), float(max(off.std(), 1e-6))


def to_cosine_scale(z: np.ndarray, reference: tuple[float, float]) -> np.ndarray:
    """mu0 + sd0 * z: affine, so candidates rank exactly as by z. Not clipped: a very strong
    match may score above 1 (far above its cohort), which only ever clears a threshold."""
    return reference[0] + reference[1] * np.asarray(z, np.float64)


def cohort_stats(
    inner: GalleryIndex, cohort: np.ndarray, n_labels: int, min_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per label 0..n_labels-1 of the label's best score against each cohort face.

    A label with several vectors scores as a probe sees it (its best vector), so the statistics
    describe the very score the threshold is applied to."""
    cohort = np.atleast_2d(np.asarray(cohort, np.float32))
    if cohort.shape[0] < 2:
        raise ValueError(f"a cohort needs at least 2 faces, got {cohort.shape[0]}")
    scores, labels = inner.search(cohort, n_labels)
    mat = np.full((cohort.shape[0], n_labels), np.nan)
    rows = np.repeat(np.arange(cohort.shape[0]), scores.shape[1])
    keep = (labels.ravel() >= 0) & (labels.ravel() < n_labels)
    mat[rows[keep], labels.ravel()[keep]] = scores.ravel()[keep]
    missing = np.isnan(mat).all(axis=0)
    if missing.any():
        raise ValueError(f"{int(missing.sum())} gallery label(s) have no cohort scores")
    mu = np.nanmean(mat, axis=0)
    sd = np.nanstd(mat, axis=0)
    return mu.astype(np.float64), np.maximum(sd, min_std).astype(np.float64)


class NormalisedGallery:
    """A GalleryIndex whose scores are cohort z-scores of the wrapped index's cosines."""

    def __init__(
        self,
        inner: GalleryIndex,
        mean: np.ndarray,
        std: np.ndarray,
        reference: tuple[float, float] = (0.0, 1.0),
    ) -> None:
        mean = np.asarray(mean, np.float64).ravel()
        std = np.asarray(std, np.float64).ravel()
        if mean.shape != std.shape or (std <= 0).any():
            raise FrameShapeError("normalisation: mean and std must match and std be > 0")
        self._inner = inner
        self._mean, self._std = mean, std
        self.reference = reference
        self.dim = inner.dim

    @classmethod
    def from_cohort(
        cls, inner: GalleryIndex, cohort: np.ndarray, n_labels: int, min_std: float = 0.02
    ) -> NormalisedGallery:
        mu, sd = cohort_stats(inner, cohort, n_labels, min_std)
        return cls(inner, mu, sd, cohort_reference(cohort))

    @property
    def n_labels(self) -> int:
        return int(self._mean.size)

    def __len__(self) -> int:
        return len(self._inner)

    def normalise(self, scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Cosines of `labels` -> z-scores on the cosine-like scale (label -1 stays -inf)."""
        ok = labels >= 0
        out = np.full(scores.shape, -np.inf, np.float64)
        z = (scores[ok] - self._mean[labels[ok]]) / self._std[labels[ok]]
        out[ok] = to_cosine_scale(z, self.reference)
        return out

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = np.atleast_2d(np.asarray(probes, np.float32))
        fetch = min(self.n_labels, EXACT_UP_TO) if self.n_labels else k
        raw, labels = self._inner.search(probes, max(fetch, k))
        z = self.normalise(raw.astype(np.float64), labels)
        order = np.argsort(-z, axis=1, kind="stable")[:, :k]
        zs = np.take_along_axis(z, order, axis=1).astype(np.float32)
        ls = np.take_along_axis(labels, order, axis=1)
        if zs.shape[1] < k:  # fewer labels than k: pad as the protocol says
            pad = k - zs.shape[1]
            zs = np.pad(zs, ((0, 0), (0, pad)), constant_values=-np.inf)
            ls = np.pad(ls, ((0, 0), (0, pad)), constant_values=-1)
        return zs, ls
