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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import ImageRejected
from openlfr.evaluation import metrics
from openlfr.evaluation.embedding_cache import EmbeddingCache, file_key, model_key
from openlfr.evaluation.identify import IdentifySet
from openlfr.evaluation.improvements import DIM, Outcome, Split
from openlfr.vision.align import align_face
from openlfr.vision.factory import build_detector
from openlfr.vision.images import find_single_face, read_image
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


def cohort_znorm(templates: np.ndarray, cohort: np.ndarray, min_std: float = 0.02) -> tuple:
    c = cohort @ templates.T
    return c.mean(axis=0, dtype=np.float64), np.maximum(c.std(axis=0, dtype=np.float64), min_std)


def gallery_znorm(templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = (templates @ templates.T).astype(np.float64)
    np.fill_diagonal(g, np.nan)
    return np.nanmean(g, axis=1), np.maximum(np.nanstd(g, axis=1), 0.02)


@dataclass(frozen=True)
class Scorer:
    """How one variant scores: probe vectors, templates, per-template (mu, sd) or None, and an
    optional second model (vectors, templates, mu, sd, weight) summed as w * its z-score."""

    probes: np.ndarray
    templates: np.ndarray
    norm: tuple[np.ndarray, np.ndarray] | None = None
    second: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float] | None = None


def run(h: Half, sc: Scorer, ok: np.ndarray, second_ok: np.ndarray | None = None) -> Outcome:
    g_ok = ok[h.split.gallery]

    def top1(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = (sc.probes[rows] @ sc.templates.T).astype(np.float64)
        if sc.norm is not None:
            s = (s - sc.norm[0][None, :]) / sc.norm[1][None, :]
        if sc.second is not None and second_ok is not None:
            dv, dt, dmu, dsd, w = sc.second
            d = (dv[rows] @ dt.T - dmu[None, :]) / dsd[None, :]
            both = second_ok[rows][:, None] & second_ok[h.split.gallery][None, :]
            s = s + w * np.where(both, d, 0.0)  # no second face: SFace alone decides
        s[:, ~g_ok] = -np.inf
        best = np.argmax(s, axis=1)
        score = s[np.arange(len(rows)), best]
        score[~ok[rows]] = -np.inf
        return score, best

    ms, mb = top1(h.split.mated)
    ns, _ = top1(h.split.nonmated)
    hit = (mb == h.split.mate_index) & ok[h.split.mated]
    return Outcome(ms, hit, ns)


def _tpir(o: Outcome, m_rows: np.ndarray, n_rows: np.ndarray, rate: float) -> float:
    t = metrics.threshold_at_rate(o.nonmated_score[n_rows], rate)
    return float(np.mean(o.mated_rank1[m_rows] & (o.mated_score[m_rows] >= t)))


def summary_with_ci(
    o: Outcome, mated_ids: Sequence[str], resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """TPIR at FPIR 1e-2/1e-3/1e-4 and rank-1, with 95% bootstrap CIs resampling identities
    (mated: a person's searches together; non-mated: one image per person)."""
    m_all = np.arange(o.mated_score.size)
    n_all = np.arange(o.nonmated_score.size)
    names, inv = np.unique(np.asarray(mated_ids, dtype=object).astype(str), return_inverse=True)
    per_id = [np.flatnonzero(inv == k) for k in range(names.size)]
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {"rank1": []}
    for r in metrics.RATES:
        boots[metrics.rate_key(r)] = []
    for _ in range(resamples):
        mrows = np.concatenate([per_id[k] for k in rng.integers(0, names.size, names.size)])
        nrows = rng.integers(0, n_all.size, n_all.size)
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
    detector = None
    out = np.zeros((len(paths), len(angles) * DIM), np.float32)
    ok = np.zeros(len(paths), bool)
    for i, path in enumerate(paths):
        key = file_key(path)
        found, vec = cache.get(key)
        if not found:
            detector = detector or build_detector(vision)
            try:
                face = find_single_face(read_image(path), detector, str(path), several="central")
                crop = align_face(face.image, face.detections.landmarks[0])
                hgt, wid = crop.shape[:2]
                crops = [
                    cv2.warpAffine(
                        crop,
                        cv2.getRotationMatrix2D((wid / 2, hgt / 2), a, 1.0),
                        (wid, hgt),
                        borderMode=cv2.BORDER_REFLECT,
                    )
                    for a in angles
                ]
                vec = emb.embed_aligned(crops).vectors.reshape(-1).astype(np.float32)
            except ImageRejected:
                vec = None
            cache.put(key, vec)
        if vec is not None:
            out[i], ok[i] = vec, True
    cache.save()
    return out.reshape(len(paths), len(angles), DIM), ok


def augmented_templates(
    plain: np.ndarray, mirror: np.ndarray, rotated: np.ndarray | None
) -> np.ndarray:
    """Mean of an image's augmented embeddings (mirror, and rotations when given), unit length."""
    total = plain + mirror
    if rotated is not None:
        total = total + rotated.sum(axis=1)
    return normalise(total)
