"""`openlfr calibrate`: the alert threshold that gives a target false-alert rate for a watchlist of
N people searched F times an hour, from a calibration set of identities.

Method (exact expectation, no Monte Carlo): every image of the calibration set is a probe; every
identity's first image (by file name) is a template. For probe p, its impostor scores are its
scores against the M_p templates of OTHER identities; c_p(t) of them reach t. A watchlist of N
people drawn at random from those identities (without replacement) raises a false alert on p at
threshold t unless none of its N entries reaches t, so

    FPIR(N, t) = mean_p [ 1 - C(M_p - c_p(t), N) / C(M_p, N) ]              (N <= M_p)

which is the expected false-positive identification rate over ALL such watchlists, keeping each
probe's own tendency to score high ("wolves") rather than assuming independent comparisons.
For N > M_p (a watchlist bigger than the calibration set) the per-probe independence
extrapolation 1 - (1 - c_p/M_p)^N is used and the evidence says so: it is less certain.

Expected TPIR at t with a watchlist of N: a mated probe (an identity's other images) is a hit
when its mate's score reaches t and none of the N - 1 other entries beats it:
[m_p >= t] * C(M_p - b_p, N - 1) / C(M_p, N - 1), b_p = impostor scores >= m_p.

False alerts per hour = faces per hour x FPIR(N, t): one search per face (the live pipeline
searches a track's fused views, and a track alerts at most once per identity, so one face ~ one
track). The threshold is the lowest t whose expected false alerts per hour meet the target.
Confidence: a bootstrap over probe identities gives a 95% interval for the false alerts per hour
at the chosen threshold, and the number of impostor scores at or above it is reported: when it is
small, the estimate rests on few events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import gammaln

from openlfr.errors import OpenLFRError

if TYPE_CHECKING:
    from openlfr.config import Settings

BOOTSTRAP = 1000


class CalibrationRefused(OpenLFRError, ValueError):
    """The calibration set cannot support the requested target: no number is given."""


def min_probes_for(target_fpir: float) -> int:
    """Fewest non-mated searches that can show an FPIR of `target_fpir`: one false alert among
    them must already be within the target, else the threshold rests on no observed event and
    the claimed rate is an extrapolation, not a measurement."""
    return int(np.ceil(1.0 / target_fpir - 1e-9))


def require_supported(probes: int, target_fpir: float) -> None:
    need = min_probes_for(target_fpir)
    if probes < need:
        raise CalibrationRefused(
            f"the target needs an FPIR of {target_fpir:.3g} per search, which needs at least "
            f"{need} non-mated probe images in the calibration set; it has {probes}. Add "
            "images of more identities, or ask for a less strict target (this set supports "
            f"FPIR >= {1.0 / max(probes, 1):.3g})"
        )


def survival_ratio(m: np.ndarray, c: np.ndarray, n: int) -> np.ndarray:
    """C(m - c, n) / C(m, n): the chance that n entries drawn from m miss all c "bad" ones."""
    m = np.asarray(m, np.float64)
    c = np.asarray(c, np.float64)
    good = m - c
    out = np.zeros(np.broadcast(m, c).shape, np.float64)
    ok = good >= n
    with np.errstate(invalid="ignore"):
        logv = gammaln(good + 1) - gammaln(good - n + 1) - gammaln(m + 1) + gammaln(m - n + 1)
    out[ok] = np.exp(logv[ok])
    return out


@dataclass(frozen=True)
class ImpostorScores:
    """Each probe's impostor scores, sorted ascending, padded with +inf to a common width."""

    sorted_scores: np.ndarray  # (P, W) float64, +inf padding at the right
    counts: np.ndarray  # (P,) M_p: real impostor scores per probe
    probe_ids: np.ndarray  # (P,) identity label of each probe (for the bootstrap)

    def subset(self, rows: np.ndarray) -> ImpostorScores:
        return ImpostorScores(self.sorted_scores[rows], self.counts[rows], self.probe_ids[rows])

    @classmethod
    def from_rows(cls, rows: list[np.ndarray], probe_ids: list[str]) -> ImpostorScores:
        width = max((len(r) for r in rows), default=0)
        arr = np.full((len(rows), width), np.inf)
        for i, r in enumerate(rows):
            arr[i, : len(r)] = np.sort(np.asarray(r, np.float64))
        return cls(arr, np.array([len(r) for r in rows]), np.asarray(probe_ids, dtype=object))

    def at_or_above(self, t: float) -> np.ndarray:
        """c_p(t): impostor scores >= t, per probe."""
        below = np.sum(self.sorted_scores < t, axis=1)
        return self.counts - below


def per_probe_fpir(imp: ImpostorScores, n: int, t: float) -> tuple[np.ndarray, bool]:
    """Each probe's chance of a false alert with a random watchlist of n; and whether the
    independence extrapolation was needed (n above some probe's M_p)."""
    c = imp.at_or_above(t)
    m = imp.counts
    exact = n <= m
    out = np.empty(len(m), np.float64)
    out[exact] = 1.0 - survival_ratio(m[exact], c[exact], n)
    far = c[~exact] / np.maximum(m[~exact], 1)
    out[~exact] = 1.0 - (1.0 - far) ** n
    return out, bool((~exact).any())


def fpir(imp: ImpostorScores, n: int, t: float) -> float:
    return float(np.mean(per_probe_fpir(imp, n, t)[0]))


def expected_tpir(mate_scores: np.ndarray, mated_imp: ImpostorScores, n: int, t: float) -> float:
    """Expected TPIR with a random watchlist of n that includes the mate (see module doc)."""
    if mate_scores.size == 0:
        return float("nan")
    m = mated_imp.counts
    beaten = m - np.sum(mated_imp.sorted_scores < mate_scores[:, None], axis=1)
    others = min(n - 1, int(m.min())) if m.size else 0
    keep = survival_ratio(m, beaten, others)
    return float(np.mean((mate_scores >= t) * keep))


def choose_threshold(
    imp: ImpostorScores, n: int, faces_per_hour: float, target_per_hour: float
) -> float:
    """The lowest threshold t (to 1e-4 cosine) with faces_per_hour * FPIR(n, t) <= target."""
    target_fpir = target_per_hour / faces_per_hour
    finite = imp.sorted_scores[np.isfinite(imp.sorted_scores)]
    lo, hi = float(finite.min()) - 1e-3, float(finite.max()) + 1e-4
    if fpir(imp, n, lo) <= target_fpir:
        return lo
    for _ in range(60):  # bisection: FPIR falls as t rises
        mid = (lo + hi) / 2
        if fpir(imp, n, mid) <= target_fpir:
            hi = mid
        else:
            lo = mid
        if hi - lo < 1e-5:
            break
    return float(np.ceil(hi * 1e4) / 1e4)


def bootstrap_ci(
    imp: ImpostorScores, n: int, t: float, faces_per_hour: float, seed: int = 0
) -> tuple[float, float]:
    """95% percentile interval of false alerts per hour, resampling probe identities."""
    per, _ = per_probe_fpir(imp, n, t)
    names, inv = np.unique(imp.probe_ids.astype(str), return_inverse=True)
    sums = np.bincount(inv, weights=per, minlength=names.size)
    cnt = np.bincount(inv, minlength=names.size).astype(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, names.size, size=(BOOTSTRAP, names.size))
    rates = sums[idx].sum(axis=1) / cnt[idx].sum(axis=1) * faces_per_hour
    lo, hi = np.quantile(rates, [0.025, 0.975])
    return float(lo), float(hi)


def calibrate_scores(
    imp: ImpostorScores,
    mate_scores: np.ndarray,
    mated_imp: ImpostorScores,
    *,
    watchlist_size: int,
    faces_per_hour: float,
    false_alerts_per_hour: float,
) -> dict[str, Any]:
    """The threshold and its evidence (numbers only; the caller adds data, model and date).

    Refuses (CalibrationRefused) a target stricter than the set's non-mated probes can show."""
    require_supported(len(imp.counts), false_alerts_per_hour / faces_per_hour)
    t = choose_threshold(imp, watchlist_size, faces_per_hour, false_alerts_per_hour)
    per, extrapolated = per_probe_fpir(imp, watchlist_size, t)
    rate = float(per.mean())
    lo, hi = bootstrap_ci(imp, watchlist_size, t, faces_per_hour)
    events = int(imp.at_or_above(t).sum())
    caveats = []
    if extrapolated:
        caveats.append(
            f"watchlist size {watchlist_size} exceeds the {int(imp.counts.min())} calibration "
            "identities a probe can be compared with: FPIR was extrapolated assuming a probe's "
            "comparisons are independent (1 - (1 - FAR_p)^N); calibrate on a larger set"
        )
    if events < 30:
        caveats.append(
            f"only {events} impostor comparison(s) reach the threshold: the estimate rests on "
            "few events (see the 95% interval)"
        )
    return {
        "threshold": t,
        "expected_fpir": rate,
        "expected_false_alerts_per_hour": rate * faces_per_hour,
        "false_alerts_per_hour_ci95": [lo, hi],
        "expected_false_alerts_per_1000_faces": rate * 1000.0,
        "expected_tpir": expected_tpir(mate_scores, mated_imp, watchlist_size, t),
        "impostor_comparisons": int(imp.counts.sum()),
        "impostor_comparisons_at_or_above_threshold": events,
        "probes": len(imp.counts),
        "mated_probes": int(mate_scores.size),
        "extrapolated": extrapolated,
        "caveats": caveats,
    }


@dataclass(frozen=True)
class CalibrationSet:
    impostors: ImpostorScores
    mate_scores: np.ndarray
    mated: ImpostorScores
    identities: int
    images: int
    failures: int
    top_impostors: list[dict[str, Any]]


def _top_impostors(
    sims: np.ndarray, p_idx: np.ndarray, t_ids: np.ndarray, names: list[str], k: int = 10
) -> list[dict[str, Any]]:
    """The highest impostor comparisons: in a research set they are often label noise (one
    person under two names), which a reviewer of the evidence should see."""
    flat = np.argsort(sims, axis=None)[::-1][:k]
    out = []
    for f in flat:
        i, j = divmod(int(f), sims.shape[1])
        if not np.isfinite(sims[i, j]):
            break
        out.append(
            {"probe": names[p_idx[i]], "template": str(t_ids[j]), "score": float(sims[i, j])}
        )
    return out


def scores_from_vectors(
    ids: list[str],
    vectors: np.ndarray,
    ok: np.ndarray,
    is_template: np.ndarray,
    names: list[str] | None = None,
    *,
    cohort: np.ndarray | None = None,
    min_std: float = 0.02,
    templates: tuple[np.ndarray, np.ndarray] | None = None,
) -> CalibrationSet:
    """Every usable image is a probe; `is_template` marks each identity's first image.

    With `cohort` (settings.scoring.normalisation == "znorm", see `cohort_for`), every score is
    the template's cohort z-score, exactly as `NormalisedGallery` scores live, so the threshold
    found is on the scale the deployment compares with. With `templates` ((N, dim) vectors, ok:
    `evaluation.templates.enrolment_templates`), the template rows are scored as enrolment
    builds them (augmented); every image is still a probe with its plain embedding, as live."""
    ids_arr = np.asarray(ids, dtype=object)
    tmask = is_template & ok
    t_vecs = vectors
    if templates is not None:
        t_vecs, t_ok = templates
        tmask = tmask & t_ok
    t_ids = ids_arr[tmask]
    sims = vectors[ok] @ t_vecs[tmask].T
    if cohort is not None:
        sims = znormalise(sims, t_vecs[tmask], cohort, min_std)
    p_ids = ids_arr[ok]
    own = p_ids[:, None] == t_ids[None, :]
    rows = [sims[i][~own[i]] for i in range(len(p_ids))]
    imp = ImpostorScores.from_rows(rows, list(p_ids))
    has_mate = own.any(axis=1) & ~is_template[ok]
    mate = np.where(own, sims, -np.inf).max(axis=1)
    sel = np.flatnonzero(has_mate)
    masked = np.where(own, -np.inf, sims)
    top = _top_impostors(masked, np.flatnonzero(ok), t_ids, names or list(ids))
    return CalibrationSet(
        imp,
        mate[sel].astype(np.float64),
        imp.subset(sel),
        identities=len(set(ids)),
        images=len(ids),
        failures=int((~ok).sum()),
        top_impostors=top,
    )


def znormalise(
    sims: np.ndarray, templates: np.ndarray, cohort: np.ndarray, min_std: float
) -> np.ndarray:
    """Per-template cohort z-scores of `sims` (probes x templates) on the live scale
    (matching.normalised: mu0 + sd0 * z with the cohort's own reference statistics)."""
    from openlfr.matching.normalised import cohort_reference, to_cosine_scale

    c = np.asarray(cohort, np.float32) @ np.asarray(templates, np.float32).T
    mu = c.mean(axis=0, dtype=np.float64)
    sd = np.maximum(c.std(axis=0, dtype=np.float64), min_std)
    z = (sims - mu[None, :]) / sd[None, :]
    return np.asarray(to_cosine_scale(z, cohort_reference(cohort)), np.float64)


def cohort_for(settings: Settings) -> np.ndarray | None:
    """The cohort live scoring uses (None when normalisation is 'none')."""
    scoring = settings.scoring
    if scoring.normalisation == "none":
        return None
    if scoring.cohort_path is None:
        raise CalibrationRefused(
            "settings.scoring.normalisation='znorm' needs settings.scoring.cohort_path"
        )
    from openlfr.evaluation.cohort import load_cohort

    return load_cohort(scoring.cohort_path, settings.vision.embedder, 128, scoring.cohort_min)
