"""Multi-image templates, quality-aware track fusion and a sequential decision (issue 12 item 1),
simulated on LFW: a person's several images stand in for the views of one track.

Within one half of the identities (see levers.half_of): identities with >= 3 images are split
by the second byte of sha256(name) into enrolled and outsiders. Enrolled: template from image 0
(or images 0 and 1: "multi"), track = images 2.. (up to MAX_VIEWS). Non-mated tracks: the
outsiders' images (up to MAX_VIEWS) and every single-image identity of the half (a one-view
track, as most passers-by are). Scores are cohort z-scores (the live scale).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from openlfr.evaluation.identify import IdentifySet
from openlfr.evaluation.improvements import Outcome
from openlfr.evaluation.levers import cohort_znorm, half_of
from openlfr.vision.sface import normalise

MAX_VIEWS = 5


@dataclass(frozen=True)
class TrackSet:
    gallery_rows: list[list[int]]  # per enrolled identity: its template images
    mated_tracks: list[list[int]]
    mated_ids: list[str]
    nonmated_tracks: list[list[int]]


def track_set(data: IdentifySet, half: int, ok: np.ndarray, multi: bool) -> TrackSet:
    idx: dict[str, list[int]] = {}
    for i, (ident, _) in enumerate(data.gallery + data.mated + data.nonmated):
        if half_of(ident) == half and ok[i]:
            idx.setdefault(ident, []).append(i)
    enrolled = sorted(
        k for k, v in idx.items() if len(v) >= 3 and hashlib.sha256(k.encode()).digest()[1] % 2
    )
    out = sorted(k for k, v in idx.items() if k not in set(enrolled))
    return TrackSet(
        [idx[k][:2] if multi else idx[k][:1] for k in enrolled],
        [idx[k][2 : 2 + MAX_VIEWS] for k in enrolled],
        enrolled,
        [idx[k][:MAX_VIEWS] for k in out],
    )


def templates(ts: TrackSet, vecs: np.ndarray) -> np.ndarray:
    return normalise(np.stack([vecs[r].sum(axis=0) for r in ts.gallery_rows]))


def fused_scores(
    track: list[int], vecs: np.ndarray, quality: np.ndarray, tmpl: np.ndarray, norm: tuple, how: str
) -> tuple[float, int, int]:
    """(decision score, candidate, views used) for one track.

    single: the first view; mean / quality: the (quality-weighted) mean vector of all views;
    sequential: the quality-weighted running mean after each view, decided at the best prefix
    (the track alerts as soon as its accumulated evidence clears the bar)."""
    mu, sd = norm
    views = track[:1] if how == "single" else track
    w = quality[views] if how in ("quality", "sequential") else np.ones(len(views))
    w = np.maximum(w, 1e-3)
    if how == "sequential":
        cum = np.cumsum(vecs[views] * w[:, None], axis=0)
        z = (normalise(cum) @ tmpl.T - mu) / sd
        best = z.max(axis=1)
        step = int(np.argmax(best))
        return float(best[step]), int(np.argmax(z[step])), step + 1
    v = normalise((vecs[views] * w[:, None]).sum(axis=0, keepdims=True))
    z = ((v @ tmpl.T - mu) / sd)[0]
    return float(z.max()), int(np.argmax(z)), len(views)


def run_tracks(
    ts: TrackSet, vecs: np.ndarray, quality: np.ndarray, cohort: np.ndarray, how: str
) -> tuple[Outcome, np.ndarray]:
    """Outcome over tracks, and per mated track the views used (sequential: to its decision)."""
    tmpl = templates(ts, vecs)
    norm = cohort_znorm(tmpl, cohort)
    m = [fused_scores(t, vecs, quality, tmpl, norm, how) for t in ts.mated_tracks]
    n = [fused_scores(t, vecs, quality, tmpl, norm, how) for t in ts.nonmated_tracks]
    o = Outcome(
        np.array([s for s, _, _ in m]),
        np.array([c == i for i, (_, c, _) in enumerate(m)]),
        np.array([s for s, _, _ in n]),
    )
    return o, np.array([v for _, _, v in m])
