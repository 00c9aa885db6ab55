"""Issue 12 item 1: open-set levers measured on an HONEST split of the dev identities.

The identities are split by a fixed rule, the first byte of sha256(name) even (TUNE) or odd
(REPORT). Each half is its own open-set protocol (as `eval identify`: gallery = first image of each
identity with 2+ images, mated probes = their other images, non-mated probes = identities with
one image). Every choice (which lever, which weight) is made on TUNE; REPORT only reports.
The cohort for a half's z-norm is one image per identity of the OTHER half: faces of people in
no gallery of that half, used without their labels.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.config import VisionSettings
from openlfr.evaluation import metrics
from openlfr.evaluation.embedding_cache import EmbeddingCache, model_key
from openlfr.evaluation.face_rows import face_rows
from openlfr.evaluation.identify import IdentifySet
from openlfr.evaluation.improvements import DIM, Outcome, Split
from openlfr.matching.templates import rotate_crop
from openlfr.vision.align import align_face
from openlfr.vision.images import SingleFace
from openlfr.vision.sface import SFaceEmbedder, normalise

TUNE, REPORT = 0, 1
HALF_NAMES = {TUNE: "tune (sha256(name)[0] even)", REPORT: "report (sha256(name)[0] odd)"}
ROTATIONS = (-7.0, 7.0)


def half_of(name: str) -> int:
    return hashlib.sha256(name.encode("utf-8")).digest()[0] % 2


@dataclass(frozen=True)
class Half:
    split: Split  # indices into the flat path list (gallery + mated + nonmated of IdentifySet)
    ids: np.ndarray  # identity per flat row
    cohort: np.ndarray  # flat rows: one image per identity of the other half


def half_split(data: IdentifySet, half: int, ok: np.ndarray) -> Half:
    flat = data.gallery + data.mated + data.nonmated
    ids = np.array([i for i, _ in flat], dtype=object)
    mine = np.array([half_of(i) == half for i in ids])
    ng, nm = len(data.gallery), len(data.mated)
    role = np.array([0] * ng + [1] * nm + [2] * len(data.nonmated))
    g = np.flatnonzero(mine & (role == 0))
    row = {ids[j]: k for k, j in enumerate(g)}
    m = np.flatnonzero(mine & (role == 1))
    n = np.flatnonzero(mine & (role == 2))
    seen: set[str] = set()
    cohort: list[int] = []
    for j in np.flatnonzero(~mine & ok):
        if ids[j] not in seen:
            seen.add(ids[j])
            cohort.append(int(j))
    mate = np.array([row[ids[j]] for j in m], np.int64)
    return Half(Split(g, m, n, mate), ids, np.array(cohort, np.int64))


def _top(scores: np.ndarray, top_k: int | None, axis: int) -> np.ndarray:
    """The `top_k` highest scores along `axis` (all of them when None): AS-norm's cohort."""
    if top_k is None or top_k >= scores.shape[axis]:
        return scores
    return np.take(-np.partition(-scores, top_k - 1, axis=axis), range(top_k), axis=axis)


def cohort_znorm(
    templates: np.ndarray, cohort: np.ndarray, min_std: float = 0.02, top_k: int | None = None
) -> tuple:
    """Per template (mu, sd) of its cosines to the cohort; `top_k`: to its top_k most similar
    cohort faces only (adaptive s-norm, AS-norm)."""
    c = _top((cohort @ templates.T).astype(np.float64), top_k, 0)
    return c.mean(axis=0), np.maximum(c.std(axis=0), min_std)


def gallery_znorm(templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = (templates @ templates.T).astype(np.float64)
    np.fill_diagonal(g, np.nan)
    return np.nanmean(g, axis=1), np.maximum(np.nanstd(g, axis=1), 0.02)


def probe_stats(
    probes: np.ndarray, cohort: np.ndarray, min_std: float = 0.02, top_k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per PROBE (mu, sd) of its cosines to the cohort (the probe side of symmetric s-norm),
    or to its `top_k` most similar cohort faces (AS-norm)."""
    c = _top((probes @ cohort.T).astype(np.float64), top_k, 1)
    return c.mean(axis=1), np.maximum(c.std(axis=1), min_std)


@dataclass(frozen=True)
class Scorer:
    """How one variant scores: probe vectors, templates, per-template (mu, sd) or None, and an
    optional second model (vectors, templates, mu, sd, weight) summed as w * its z-score.

    `probe_cohort` (s-norm): each score becomes the mean of its template-side z-score and its
    probe-side z-score against that cohort (`probe_top_k`: its most similar faces only, AS-norm);
    `second_weight_by_quality` (quality-aware fusion): (quality cut, weight below, weight at or
    above) replaces the second model's fixed weight by one chosen by the probe's quality score."""

    probes: np.ndarray
    templates: np.ndarray
    norm: tuple[np.ndarray, np.ndarray] | None = None
    second: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None = None
    probe_cohort: tuple[np.ndarray, np.ndarray | None] | None = None  # (sface, second) cohorts
    second_weight_by_quality: tuple[np.ndarray, float, float, float] | None = None
    probe_top_k: int | None = None  # AS-norm: the probe side's cohort is its top_k faces


def scores(h: Half, sc: Scorer, rows: np.ndarray, second_ok: np.ndarray | None) -> np.ndarray:
    """(len(rows), gallery) decision scores of the probes `rows` under scorer `sc`."""
    raw = (sc.probes[rows] @ sc.templates.T).astype(np.float64)
    s = raw if sc.norm is None else (raw - sc.norm[0][None, :]) / sc.norm[1][None, :]
    if sc.probe_cohort is not None:  # s-norm: mean of the two z-scores
        mu, sd = probe_stats(sc.probes[rows], sc.probe_cohort[0], top_k=sc.probe_top_k)
        s = 0.5 * s + 0.5 * (raw - mu[:, None]) / sd[:, None]
    if sc.second is not None and second_ok is not None:
        dv, dt, dmu, dsd, w = sc.second
        draw = (dv[rows] @ dt.T).astype(np.float64)
        d = (draw - dmu[None, :]) / dsd[None, :]
        if sc.probe_cohort is not None and sc.probe_cohort[1] is not None:
            mu, sd = probe_stats(dv[rows], sc.probe_cohort[1])
            d = 0.5 * d + 0.5 * (draw - mu[:, None]) / sd[:, None]
        weight = np.full(len(rows), w)
        if sc.second_weight_by_quality is not None:
            qual, cut, lo, hi = sc.second_weight_by_quality
            weight = np.where(qual[rows] < cut, lo, hi)
        both = second_ok[rows][:, None] & second_ok[h.split.gallery][None, :]
        fused = s + weight[:, None] * np.where(both, d, 0.0)  # no second face: SFace alone
        # Divided by the spread a sum of two unit-variance z-scores has, so that probes fused
        # with different weights (quality-aware), or with SFace alone where dlib found no face,
        # share one impostor scale and one threshold.
        s = np.where(both, fused / np.sqrt(1.0 + weight[:, None] ** 2), s)
    return s


def run(
    h: Half,
    sc: Scorer,
    ok: np.ndarray,
    second_ok: np.ndarray | None = None,
    *,
    leave_one_out: bool = False,
) -> Outcome:
    """Top-1 outcome of every mated and non-mated search of the half under scorer `sc`.

    leave_one_out: each mated probe is ALSO a non-mated search against the gallery without its
    own entry (as if that person were not enrolled), appended after the true non-mated ones;
    `nonmated_identities` names them. Two to three times as many non-mated searches make FPIR
    0.1% measurable on a half (it needs >= 1,000)."""
    return run_scores(h, score_fn(h, sc, second_ok), ok, leave_one_out)


def score_fn(
    h: Half, sc: Scorer, second_ok: np.ndarray | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """`scores` of scorer `sc` as the `score_rows` function `run_scores` takes."""
    return lambda rows: scores(h, sc, rows, second_ok)


def run_scores(
    h: Half, score_rows: Callable[[np.ndarray], np.ndarray], ok: np.ndarray, leave_one_out: bool
) -> Outcome:
    """`run` for any scoring: `score_rows(rows)` gives the (len(rows), gallery) decision scores
    of the flat probe rows `rows` (e.g. the best of two references per entry, as the live
    gallery takes the best per subject)."""
    g_ok = ok[h.split.gallery]

    def top1(rows: np.ndarray, drop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        s = score_rows(rows)
        s[:, ~g_ok] = -np.inf
        if drop is not None:
            s[np.arange(len(rows)), drop] = -np.inf
        best = np.argmax(s, axis=1)
        score = s[np.arange(len(rows)), best]
        score[~ok[rows]] = -np.inf
        return score, best

    ms, mb = top1(h.split.mated)
    ns, _ = top1(h.split.nonmated)
    if leave_one_out:
        keep = ok[h.split.mated]
        ls, _ = top1(h.split.mated[keep], h.split.mate_index[keep])
        ns = np.concatenate([ns, ls])
    hit = (mb == h.split.mate_index) & ok[h.split.mated]
    return Outcome(ms, hit, ns)


def nonmated_identities(h: Half, ok: np.ndarray, leave_one_out: bool) -> list[str]:
    """The identity of each non-mated search of `run(..., leave_one_out=...)`, in order."""
    out = [str(i) for i in h.ids[h.split.nonmated]]
    if leave_one_out:
        m = h.split.mated[ok[h.split.mated]]
        out += [str(i) for i in h.ids[m]]
    return out


def _tpir(o: Outcome, m_rows: np.ndarray, n_rows: np.ndarray, rate: float) -> float:
    t = metrics.threshold_at_rate(o.nonmated_score[n_rows], rate)
    return float(np.mean(o.mated_rank1[m_rows] & (o.mated_score[m_rows] >= t)))


def _groups_of(ids: Sequence[str]) -> list[np.ndarray]:
    names, inv = np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    return np.split(order, np.cumsum(np.bincount(inv, minlength=names.size))[:-1])


def summary_with_ci(
    o: Outcome,
    mated_ids: Sequence[str],
    resamples: int = 1000,
    seed: int = 0,
    nonmated_ids: Sequence[str] | None = None,
) -> dict[str, Any]:
    """TPIR at FPIR 1e-2/1e-3/1e-4 and rank-1, with 95% bootstrap CIs resampling identities
    (mated: a person's searches together; non-mated: likewise when `nonmated_ids` is given,
    else one search per person)."""
    m_all = np.arange(o.mated_score.size)
    n_all = np.arange(o.nonmated_score.size)
    per_id = _groups_of(mated_ids)
    per_nid = _groups_of(nonmated_ids) if nonmated_ids is not None else None
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {"rank1": []}
    for r in metrics.RATES:
        boots[metrics.rate_key(r)] = []
    for _ in range(resamples):
        mrows = np.concatenate([per_id[k] for k in rng.integers(0, len(per_id), len(per_id))])
        if per_nid is None:
            nrows = rng.integers(0, n_all.size, n_all.size)
        else:
            pick = rng.integers(0, len(per_nid), len(per_nid))
            nrows = np.concatenate([per_nid[k] for k in pick])
        boots["rank1"].append(float(np.mean(o.mated_rank1[mrows])))
        for r in metrics.RATES:
            boots[metrics.rate_key(r)].append(_tpir(o, mrows, nrows, r))
    out: dict[str, Any] = {"rank1": float(np.mean(o.mated_rank1))}
    out["rank1_ci95"] = metrics.percentile_ci(np.array(boots["rank1"]))
    for r in metrics.RATES:
        k = metrics.rate_key(r)
        out[f"tpir@{k}"] = _tpir(o, m_all, n_all, r)
        out[f"tpir@{k}_ci95"] = metrics.percentile_ci(np.array(boots[k]))
        out[f"tpir@{k}_supported"] = bool(r * n_all.size >= 1)
    out["nonmated"] = int(n_all.size)
    out["mated"] = int(m_all.size)
    return out


def rotated_features(
    paths: Sequence[Path], vision: VisionSettings, angles: Sequence[float] = ROTATIONS
) -> tuple[np.ndarray, np.ndarray]:
    """SFace vectors of each image's aligned crop rotated by each angle (enrolment
    augmentation): (N, len(angles), 128) and ok; cached like the other evaluation vectors."""
    tag = ",".join(f"{a:g}" for a in angles)
    cache = EmbeddingCache(model_key(vision) + f"|sface-rot[{tag}]", len(angles) * DIM)
    emb = SFaceEmbedder(flip=False)

    def row(face: SingleFace) -> np.ndarray:
        crop = align_face(face.image, face.detections.landmarks[0])
        # The very rotation live enrolment applies (matching.templates).
        crops = [rotate_crop(crop, a) for a in angles]
        return emb.embed_aligned(crops).vectors.reshape(-1).astype(np.float32)

    out, ok = face_rows(paths, vision, cache, row)
    return out.reshape(len(paths), len(angles), DIM), ok


def augmented_templates(
    plain: np.ndarray, mirror: np.ndarray, rotated: np.ndarray | None
) -> np.ndarray:
    """Mean of an image's augmented embeddings (mirror, and rotations when given), unit length."""
    total = plain + mirror
    if rotated is not None:
        total = total + rotated.sum(axis=1)
    return normalise(total)
