"""Exact cosine search of a watchlist: numpy for small galleries, FAISS flat for large ones.

Both are exact (no approximation): a live watchlist is small, and a missed match there is a
wanted person walking past.
"""

from __future__ import annotations

import numpy as np

from openlfr.errors import FrameShapeError
from openlfr.matching.protocols import GalleryIndex


def check_vectors(vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if vectors.ndim != 2 or labels.shape != (vectors.shape[0],):
        raise FrameShapeError(
            f"gallery: expected vectors (N, D) and labels (N,), got {vectors.shape} and "
            f"{labels.shape}"
        )
    return vectors, labels


def _best_per_label(
    scores: np.ndarray, labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per probe row of candidate scores/labels (sorted best first), the first k distinct labels."""
    q = scores.shape[0]
    out_s = np.full((q, k), -np.inf, np.float32)
    out_l = np.full((q, k), -1, np.int64)
    for i in range(q):
        seen: set[int] = set()
        j = 0
        for s, lab in zip(scores[i], labels[i]):
            if lab < 0 or int(lab) in seen:
                continue
            seen.add(int(lab))
            out_s[i, j], out_l[i, j] = s, lab
            j += 1
            if j == k:
                break
    return out_s, out_l


class NumpyGallery:
    """Brute-force inner product in numpy (vectors are unit length, so it is cosine)."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self._vectors, self._labels = check_vectors(vectors, labels)
        self.dim = int(self._vectors.shape[1]) if self._vectors.size else 0

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = np.atleast_2d(np.asarray(probes, dtype=np.float32))
        if len(self) == 0:
            q = probes.shape[0]
            return np.full((q, k), -np.inf, np.float32), np.full((q, k), -1, np.int64)
        if probes.shape[1] != self.dim:
            raise FrameShapeError(f"probes: expected (Q, {self.dim}), got {probes.shape}")
        sims = probes @ self._vectors.T
        order = np.argsort(-sims, axis=1, kind="stable")
        return _best_per_label(np.take_along_axis(sims, order, axis=1), self._labels[order], k)


class FaissGallery:
    """FAISS IndexFlatIP: the same exact search, faster on large galleries."""

    def __init__(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        import faiss

        vectors, self._labels = check_vectors(vectors, labels)
        self.dim = int(vectors.shape[1])
        self._index = faiss.IndexFlatIP(self.dim)
        self._index.add(vectors)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = np.ascontiguousarray(np.atleast_2d(probes), dtype=np.float32)
        # Several vectors may share a label: fetch extra rows so k distinct labels survive.
        fetch = min(len(self), max(k * 8, k))
        sims, rows = self._index.search(probes, fetch)
        labels = np.where(rows >= 0, self._labels[np.maximum(rows, 0)], -1)
        return _best_per_label(sims, labels, k)


def build_gallery(
    vectors: np.ndarray, labels: np.ndarray, faiss_above: int, compact_above: int = 100_000
) -> GalleryIndex:
    if vectors.shape[0] > compact_above:
        # Retrospective search of large galleries: int8 first pass, exact re-rank, same answers.
        from openlfr.matching.compact import CompactGallery

        return CompactGallery(vectors, labels)
    if vectors.shape[0] > faiss_above:
        return FaissGallery(vectors, labels)
    return NumpyGallery(vectors, labels)
