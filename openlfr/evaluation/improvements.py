"""Measuring the accuracy levers of issue 5 item 5 on open-set 1:N identification (LFW).

Every variant is scored on the SAME searches as `openlfr eval identify` (gallery: the first image
of each identity with two or more; mated probes: their other images; non-mated probes: the
identities with one image), so the numbers compare with its headline ones:

* ``raw``: SFace cosine, top-1 (what `eval identify` reports).
* ``flip``: each image embedded with its mirror image and the two vectors averaged (TTA).
* ``znorm``: each gallery entry's scores z-normalised by its own impostor distribution (its
  scores against the other gallery entries); top-1 by the normalised score.
* ``top1_minus_mean_topk``: the top-1 cosine minus the mean of the next k (cohort from the
  gallery itself, per probe).
* ``dlib_veto``: the SFace top-1 candidate must also pass dlib's recogniser (dlib cosine >=
  a fixed threshold, chosen on LFW PAIRS, not on this protocol, at dlib's FAR ``DLIB_VETO_FAR``).

Fusion over several images of an identity (item 5 d) is measured by ``fusion_table``: see there.
No parameter below is tuned on the identification numbers it reports.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from openlfr.config import QualitySettings, VisionSettings
from openlfr.evaluation import metrics
from openlfr.evaluation.embedding_cache import (
    EmbeddingCache,
    ProgressFn,
    embed_files,
    model_key,
)
from openlfr.evaluation.face_rows import face_rows
from openlfr.evaluation.identify import IdentifySet
from openlfr.vision.align import align_face
from openlfr.vision.images import SingleFace
from openlfr.vision.quality import assess
from openlfr.vision.sface import SFaceEmbedder, normalise

COHORT_K = 10
DLIB_VETO_FAR = 0.01
FPIRS = (0.01, 0.001)
DIM = 128


@dataclass(frozen=True)
class Features:
    """Per image: SFace plain and mirror-image vectors, and the quality gate's score."""

    plain: np.ndarray  # (N, 128) unit rows where ok
    mirror: np.ndarray  # (N, 128)
    quality: np.ndarray  # (N,)
    ok: np.ndarray  # (N,) bool

    def flip(self) -> np.ndarray:
        return normalise(self.plain + self.mirror) * self.ok[:, None]


def image_features(
    paths: list[Path],
    vision: VisionSettings,
    *,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> Features:
    """Embeds each image (central face) and its mirror image with SFace; cached on disk."""
    cache = EmbeddingCache(
        model_key(vision) + "|sface-plain+mirror+quality", 2 * DIM + 1, cache_dir
    )
    emb = SFaceEmbedder(flip=False)

    def row(face: SingleFace) -> np.ndarray:
        lm = face.detections.landmarks[0]
        crop = align_face(face.image, lm)
        v = emb.embed_aligned([crop, cv2.flip(crop, 1)]).vectors
        q = assess(
            float(face.detections.sizes[0]),
            float(face.detections.scores[0]),
            lm,
            crop,
            QualitySettings(),
        ).score
        return np.concatenate([v[0], v[1], [q]]).astype(np.float32)

    rows, ok = face_rows(paths, vision, cache, row, progress=progress)
    return Features(rows[:, :DIM], rows[:, DIM : 2 * DIM], rows[:, 2 * DIM], ok)


def dlib_vectors(
    paths: list[Path], vision: VisionSettings, progress: ProgressFn | None = None
) -> Any:
    """dlib ResNet vectors of the same faces (YuNet finds them), from the evaluation cache."""
    return embed_files(paths, vision.model_copy(update={"embedder": "dlib"}), progress=progress)


@dataclass(frozen=True)
class Outcome:
    """Top-1 decision score and whether the mate is the top-1 candidate, per search."""

    mated_score: np.ndarray
    mated_rank1: np.ndarray
    nonmated_score: np.ndarray


def summarise(o: Outcome) -> dict[str, Any]:
    out: dict[str, Any] = {"rank1": float(np.mean(o.mated_rank1))}
    for r in FPIRS:
        t = metrics.threshold_at_rate(o.nonmated_score, r)
        out[f"tpir@{r:g}"] = float(np.mean(o.mated_rank1 & (o.mated_score >= t)))
    return out


Scorer = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def raw_scorer(sims: np.ndarray, gallery_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    del gallery_sims
    best = np.argmax(sims, axis=1)
    return sims[np.arange(len(sims)), best], best


def znorm_scorer(sims: np.ndarray, gallery_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-norm per gallery entry against its own impostors (the rest of the gallery)."""
    mu, sd = gallery_impostor_stats(gallery_sims)
    z = (sims - mu[None, :]) / sd[None, :]
    best = np.argmax(z, axis=1)
    return z[np.arange(len(z)), best], best


def gallery_impostor_stats(gallery_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = gallery_sims.astype(np.float64).copy()
    np.fill_diagonal(g, np.nan)
    return np.nanmean(g, axis=1), np.maximum(np.nanstd(g, axis=1), 1e-6)


def cohort_scorer(sims: np.ndarray, gallery_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-1 minus the mean of the next COHORT_K scores of the same probe."""
    del gallery_sims
    k = min(COHORT_K + 1, sims.shape[1])
    part = -np.sort(-sims, axis=1)[:, :k]
    best = np.argmax(sims, axis=1)
    return part[:, 0] - part[:, 1:].mean(axis=1), best


SCORERS: dict[str, Scorer] = {
    "raw": raw_scorer,
    "znorm": znorm_scorer,
    "top1_minus_mean_topk": cohort_scorer,
}


@dataclass
class Split:
    """Indices into the flat path list of an IdentifySet: gallery, mated, non-mated."""

    gallery: np.ndarray
    mated: np.ndarray
    nonmated: np.ndarray
    mate_index: np.ndarray  # for each mated probe, its gallery row

    @classmethod
    def of(cls, data: IdentifySet) -> Split:
        ng, nm = len(data.gallery), len(data.mated)
        row = {ident: i for i, (ident, _) in enumerate(data.gallery)}
        mate = np.array([row[ident] for ident, _ in data.mated], np.int64)
        return cls(
            np.arange(ng),
            np.arange(ng, ng + nm),
            np.arange(ng + nm, ng + nm + len(data.nonmated)),
            mate,
        )


def run_variant(
    vecs: np.ndarray,
    ok: np.ndarray,
    split: Split,
    scorer: Scorer,
    veto: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Outcome:
    """Scores every search with `scorer`; `veto(probe_rows, candidate_gallery_rows)` -> bool
    array of candidates that the second opinion accepts (others score LOWEST)."""
    g = vecs[split.gallery]
    gsims = g @ g.T
    gsims[~ok[split.gallery], :] = metrics.LOWEST_SCORE
    gsims[:, ~ok[split.gallery]] = metrics.LOWEST_SCORE

    def top1(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sims = vecs[rows] @ g.T
        sims[:, ~ok[split.gallery]] = metrics.LOWEST_SCORE
        score, who = scorer(sims, gsims)
        score = score.astype(np.float64)
        if veto is not None:
            score[~veto(rows, who)] = metrics.LOWEST_SCORE
        score[~ok[rows]] = metrics.LOWEST_SCORE
        return score, who

    ms, mwho = top1(split.mated)
    ns, _ = top1(split.nonmated)
    return Outcome(ms, (mwho == split.mate_index) & ok[split.mated], ns)


def dlib_veto_threshold(pairs_a: np.ndarray, pairs_b: np.ndarray, same: np.ndarray) -> float:
    """dlib's threshold at FAR DLIB_VETO_FAR on LFW pairs (different-person pairs)."""
    scores = np.sum(pairs_a * pairs_b, axis=1)
    return metrics.threshold_at_rate(scores[~same], DLIB_VETO_FAR)


def make_veto(dvecs: np.ndarray, dok: np.ndarray, split: Split, t: float) -> Any:
    def veto(rows: np.ndarray, who: np.ndarray) -> np.ndarray:
        g = split.gallery[who]
        d = np.sum(dvecs[rows] * dvecs[g], axis=1)
        return (d >= t) & dok[rows] & dok[g]

    return veto


def fusion_table(
    feats: Features, data: IdentifySet, max_views: int = 5, min_images: int = 3
) -> dict[str, Any]:
    """Item 5 d: several probe images of one person fused into one probe, as a track does.

    Identities with >= `min_images` images are split by a hash of their name: half enrolled
    (gallery: first image; mated probe: the fusion of up to `max_views` of the others), half
    not (non-mated probe: the fusion of up to `max_views` images). Compared: one view (the
    second image), the plain mean, and the quality-weighted mean (track fusion's weights).
    """
    idx: dict[str, list[int]] = {}
    flat = data.gallery + data.mated + data.nonmated
    for i, (ident, _) in enumerate(flat):
        idx.setdefault(ident, []).append(i)
    multi = sorted(k for k, v in idx.items() if len(v) >= min_images)
    enrolled = [k for k in multi if hashlib.sha1(k.encode()).digest()[0] % 2 == 0]
    outsiders = [k for k in multi if k not in set(enrolled)]
    gal = feats.plain[[idx[k][0] for k in enrolled]]

    def fuse(rows: list[int], how: str) -> np.ndarray:
        rows = [r for r in rows if feats.ok[r]][:max_views]
        if not rows:
            return np.zeros(DIM, np.float32)
        if how == "single":
            rows = rows[:1]
        w = feats.quality[rows] if how == "quality" else np.ones(len(rows), np.float32)
        v = (feats.plain[rows] * (w / w.sum())[:, None]).sum(axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    out: dict[str, Any] = {
        "enrolled_identities": len(enrolled),
        "nonmated_identities": len(outsiders),
    }
    for how in ("single", "plain", "quality"):
        mp = np.stack([fuse(idx[k][1:], how) for k in enrolled])
        npb = np.stack([fuse(idx[k], how) for k in outsiders])
        ms, ns = mp @ gal.T, npb @ gal.T
        o = Outcome(ms.max(axis=1), ms.argmax(axis=1) == np.arange(len(enrolled)), ns.max(axis=1))
        out[how] = summarise(o)
    return out
