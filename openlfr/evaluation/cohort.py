"""Cohort files for z-norm (settings.scoring.cohort_path): embeddings of faces of people who are
on no watchlist, e.g. a public research set, with the embedder that made them.

A cohort holds no one's personal data from a deployment: it is built from an evaluation folder
(`DIR/<identity>/<images>`), one vector per identity (its first usable image) so that no one
person weighs more than another in an entry's statistics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from openlfr.errors import OpenLFRError


class CohortError(OpenLFRError, ValueError):
    """The cohort file cannot be used."""


def one_per_identity(ids: list[str], vectors: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The first usable vector of each identity, in order of first appearance."""
    seen: set[str] = set()
    rows: list[int] = []
    for i, (ident, good) in enumerate(zip(ids, ok, strict=True)):
        if good and ident not in seen:
            seen.add(ident)
            rows.append(i)
    return np.asarray(vectors, np.float32)[rows]


def save_cohort(path: Path, vectors: np.ndarray, model: str) -> None:
    v = np.asarray(vectors, np.float32)
    if v.ndim != 2 or v.shape[0] < 2:
        raise CohortError(f"a cohort needs an (N >= 2, dim) array, got {v.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez(fh, vectors=v, model=np.array(model))


def load_cohort(path: Path, model: str, dim: int, minimum: int) -> np.ndarray:
    """The cohort's vectors; refuses a file of another model, dimension or too few faces."""
    try:
        with np.load(path, allow_pickle=False) as z:
            vectors, made_by = z["vectors"].astype(np.float32), str(z["model"])
    except (OSError, KeyError, ValueError) as exc:
        raise CohortError(f"{path}: not a readable cohort file ({exc})") from exc
    if made_by != model:
        raise CohortError(f"{path}: cohort made with {made_by!r}, the embedder is {model!r}")
    if vectors.ndim != 2 or vectors.shape[1] != dim:
        raise CohortError(f"{path}: cohort vectors are {vectors.shape}, expected (N, {dim})")
    if vectors.shape[0] < minimum:
        raise CohortError(
            f"{path}: {vectors.shape[0]} cohort faces; z-norm needs at least {minimum} "
            "(settings.scoring.cohort_min) for stable per-entry statistics"
        )
    return vectors
