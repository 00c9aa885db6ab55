"""Exact 1:N search of large galleries: an int8 first pass with a proven error bound, then an
exact fp32 re-rank of the candidates it cannot rule out.

Why it is exact. Every gallery vector x is stored twice: as it is (fp32, for the re-rank) and as
8-bit codes with a min/max range per dimension (FAISS `QT_8bit`), which FAISS scans. Building the
index measures, from FAISS's own decoding of the codes, the largest reconstruction error of each
dimension, E_d = max_i |x_id - x_hat_id|. For a probe q the first-pass score of any vector then
differs from its exact score by at most

    eps(q) = sum_d |q_d| E_d            (the quantisation error: |<q, x - x_hat>|)
           + delta(q)                    (fp32 rounding in both passes, a few 1e-6)

The first pass keeps the R best first-pass scores of each shard; every vector it dropped scores at
most `cutoff` there, hence at most `cutoff + eps(q)` exactly. The kept candidates are re-ranked
in fp32 and reduced to the best score per label; when the k-th best label scores more than
`cutoff + eps(q)`, no dropped vector can enter the top k nor raise the score of a label in it, so
the answer equals the one an exhaustive fp32 scan gives. Otherwise the probe is searched again
with 4x more candidates and, past a fraction of the gallery, exhaustively: slower, never wrong.

Memory: fp32 vectors (1x) + int8 codes (0.25x) + labels. The first pass runs on `threads`
shards, one thread each (FAISS drops the GIL), so a single probe uses every core.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from openlfr.errors import FrameShapeError

# fp32 unit roundoff: both passes sum `dim` products in fp32, each off by <= dim * U * |q||x|.
_U = float(np.finfo(np.float32).eps) / 2
_ENCODE_CHUNK = 65_536
# FAISS 1.15's QT_8bit_direct* search returns zeros: only the trained 8-bit codecs are used.
_QTYPES = {"8bit": "QT_8bit", "8bit_uniform": "QT_8bit_uniform"}
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _one_omp_thread() -> None:
    import faiss

    faiss.omp_set_num_threads(1)


def _pool(threads: int) -> ThreadPoolExecutor:
    """One shared pool per thread count: indexes come and go, threads should not pile up."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(
                threads, thread_name_prefix="openlfr-compact", initializer=_one_omp_thread
            )
        return _pools[threads]


class CompactGallery:
    """Exact cosine search (a `GalleryIndex`) with an int8 first pass; for 100k-1M+ vectors."""

    def __init__(
        self,
        vectors: np.ndarray,
        labels: np.ndarray,
        *,
        threads: int = 2,
        candidates: int = 256,
        quantiser: str = "8bit",
    ) -> None:
        if quantiser not in _QTYPES:
            raise ValueError(f"quantiser: expected one of {sorted(_QTYPES)}, got {quantiser!r}")
        self.quantiser = quantiser
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        if vectors.ndim != 2 or labels.shape != (vectors.shape[0],):
            raise FrameShapeError(
                f"gallery: expected vectors (N, D) and labels (N,), got {vectors.shape} and "
                f"{labels.shape}"
            )
        if not np.isfinite(vectors).all():
            raise FrameShapeError("gallery: vectors contain NaN or infinity")
        self._vectors, self._labels = vectors, labels
        self.dim = int(vectors.shape[1]) if vectors.size else 0
        self.candidates = max(1, int(candidates))
        self.threads = max(1, int(threads))
        # The fp32 re-rank vs an exhaustive scan, for a label-rich probe: the answer is the same,
        # so this only decides when to stop widening the first pass.
        self.stats = {"probes": 0, "widened": 0, "exhaustive": 0}
        n = len(self)
        self._shards: list[Any] = []
        self._offsets: list[int] = []
        self._err = np.zeros(self.dim, np.float64)
        self._max_norm = 0.0
        if n == 0:
            return
        self._build(n)

    # -- building -------------------------------------------------------------------------------

    def _build(self, n: int) -> None:
        import faiss

        x = self._vectors
        n_shards = min(self.threads, max(1, n // 50_000))
        bounds = np.linspace(0, n, n_shards + 1).astype(np.int64)
        err = np.zeros(self.dim, np.float64)
        max_norm = 0.0
        qtype = getattr(faiss.ScalarQuantizer, _QTYPES[self.quantiser])
        for a, b in itertools.pairwise(bounds.tolist()):
            index = faiss.IndexScalarQuantizer(self.dim, qtype, faiss.METRIC_INNER_PRODUCT)
            index.train(x[a : b])  # min/max over the shard: no value is clipped
            for lo in range(a, b, _ENCODE_CHUNK):
                chunk = x[lo : min(b, lo + _ENCODE_CHUNK)]
                index.add(chunk)
                # The bound is measured on what FAISS actually stores and decodes.
                exact = chunk.astype(np.float64)
                approx = index.sa_decode(index.sa_encode(chunk)).astype(np.float64)
                err = np.maximum(err, np.abs(exact - approx).max(axis=0))
                sq = np.maximum((exact**2).sum(1), (approx**2).sum(1))
                max_norm = max(max_norm, float(np.sqrt(sq.max())))
            self._shards.append(index)
            self._offsets.append(a)
        self._err = err
        self._max_norm = max_norm

    # -- protocol -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    def memory_bytes(self) -> int:
        """Bytes held by the index: fp32 vectors, int8 codes, labels and per-dimension tables."""
        codes = sum(int(s.sa_code_size()) * int(s.ntotal) for s in self._shards)
        return int(self._vectors.nbytes + self._labels.nbytes + codes + 3 * self.dim * 8)

    def error_bound(self, probes: np.ndarray) -> np.ndarray:
        """Per probe, the proven bound on |first-pass score - exact score| (eps(q) + delta(q))."""
        q = np.atleast_2d(np.asarray(probes, dtype=np.float64))
        quant = np.abs(q) @ self._err
        rounding = 4.0 * (self.dim + 2) * _U * np.linalg.norm(q, axis=1) * self._max_norm
        return quant + rounding + 1e-9

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = np.ascontiguousarray(np.atleast_2d(probes), dtype=np.float32)
        q = probes.shape[0]
        out_s = np.full((q, max(k, 0)), -np.inf, np.float32)
        out_l = np.full((q, max(k, 0)), -1, np.int64)
        if len(self) == 0 or k <= 0 or q == 0:
            return out_s, out_l
        if probes.ndim != 2 or probes.shape[1] != self.dim:
            raise FrameShapeError(f"probes: expected (Q, {self.dim}), got {probes.shape}")
        bound = self.error_bound(probes)
        todo = np.arange(q)
        r = max(self.candidates, 4 * k)
        largest = max(int(s.ntotal) for s in self._shards)
        self.stats["probes"] += q
        while todo.size:
            if r >= largest // 4:
                self.stats["exhaustive"] += int(todo.size)
                for i in todo:
                    rows = np.arange(len(self), dtype=np.int64)
                    out_s[i], out_l[i], _ = self._rerank(probes[i], rows, k)
                break
            rows, cutoff = self._first_pass(probes[todo], r)
            left = []
            for j, i in enumerate(todo):
                cand = rows[j][rows[j] >= 0]
                s, lab, kth = self._rerank(probes[i], cand, k)
                # Strict: a dropped vector tying the k-th label could outrank it by row order.
                if cutoff[j] == -np.inf or cutoff[j] + bound[i] < kth:
                    out_s[i], out_l[i] = s, lab
                else:
                    left.append(i)
            todo = np.asarray(left, dtype=np.int64)
            self.stats["widened"] += int(todo.size)
            r *= 4
        return out_s, out_l

    # -- internals ------------------------------------------------------------------------------

    def _first_pass(self, probes: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-r first-pass rows of every shard (global row ids, -1 padded) and, per probe, the
        best first-pass score any dropped vector can have (-inf when a shard was kept whole)."""
        def one(h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            shard = self._shards[h]
            kk = min(r, int(shard.ntotal))
            dist, ids = shard.search(probes, kk)
            whole = kk >= int(shard.ntotal)
            cut = np.full(len(probes), -np.inf) if whole else dist[:, -1].astype(np.float64)
            return np.where(ids >= 0, ids + self._offsets[h], -1), dist, cut

        if len(self._shards) == 1:
            parts = [one(0)]
        else:
            parts = list(_pool(self.threads).map(one, range(len(self._shards))))
        rows = np.concatenate([p[0] for p in parts], axis=1)
        cutoff = np.max(np.stack([p[2] for p in parts]), axis=0)
        return rows, cutoff

    def _rerank(
        self, probe: np.ndarray, rows: np.ndarray, k: int
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Exact fp32 scores of `rows`, best per label, ties broken by row as an exhaustive
        stable sort would; returns (scores (k,), labels (k,), k-th label score or -inf)."""
        exact = self._vectors[rows] @ probe
        order = np.lexsort((rows, -exact))
        order = order[self._labels[rows[order]] >= 0]  # as NumpyGallery: label -1 never matches
        labs = self._labels[rows[order]]
        _, first = np.unique(labs, return_index=True)
        first.sort()
        top = order[first[:k]]
        s = np.full(k, -np.inf, np.float32)
        lab = np.full(k, -1, np.int64)
        s[: top.size], lab[: top.size] = exact[top], self._labels[rows[top]]
        return s, lab, float(s[k - 1]) if top.size == k else -np.inf
