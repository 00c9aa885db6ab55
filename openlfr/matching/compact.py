"""Exact 1:N search of large galleries: an integer first pass with a proven error bound, then an
exact fp32 re-rank of the vectors it cannot rule out.

Why it is exact. Every gallery vector x is stored twice: as it is (fp32, for the re-rank) and as
int8 codes c on a per-dimension grid, x_d ~ mid_d + step_d * c_d with |c_d| <= 127. A probe q
is put on the same grid: w = q * step (per dimension) is rounded to 7-bit integers p with one
scale s, w ~ s * p. The first pass computes <p, c> for every vector exactly, in int32
(`int8_kernel`, onnxruntime's MLAS: one pass over the codes at memory bandwidth), and

    approx(x) = <q, mid> + s * <p, c>

differs from the exact score <q, x> by at most eps(q), computed per probe from the gallery's
measured errors (each bound is the smaller of a per-dimension and a Cauchy-Schwarz one):

    |<q, x - x_hat>|   <= min(sum_d |q_d| E_d,           |q| * max_x |x - x_hat|)
    |<w - s p, c>|     <= min(sum_d |w_d - s p_d| C_d,   |w - s p| * max_x |c|)
    + fp32 rounding of the exact re-rank, and a float64 slack of 1e-9.

Search, per probe: the candidates whose first-pass scores lead (>= the r-th best block maximum,
so at least r of them) are re-ranked exactly; the k-th best label score among them, s_k, is a
lower bound of the true k-th. Every vector with approx(x) + eps(q) < s_k scores below s_k
exactly, so it can neither enter the top k nor raise the score of a label in it; the vectors
left are re-ranked too (if the first set did not already hold them all). The answer is then
the one an exhaustive fp32 scan gives, ties broken by row as its stable sort does. A probe that
finds fewer than k labels widens r; with no k-th label at all it re-ranks the whole gallery.

Memory: fp32 vectors (1x) + int8 codes (0.25x) + per vector a label, a code sum and a kept
first-pass score (16 bytes; 0.03x at 128-d): 1.28x. A batch search also holds 8 rows of
first-pass scores (8 x 4 bytes per vector) while it runs. Scores of a batch are computed 8
probes per call and post-processed one probe per thread (numpy drops the GIL in its scans).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from openlfr.errors import FrameShapeError
from openlfr.matching.gallery import check_vectors
from openlfr.matching.int8_kernel import MAX_CODE, ZERO, Int8Scorer

# fp32 unit roundoff: the re-rank sums `dim` products in fp32, each off by <= dim * U * |q||x|.
_U = float(np.finfo(np.float32).eps) / 2
_ENCODE_CHUNK = 65_536
_PROBE_MAX = MAX_CODE - ZERO  # probe integers p lie in [-63, 63]: p + ZERO is in [1, 127]
_BLOCK = 256  # first candidates: the leaders of blocks of this many rows
_BATCH = 8  # probes per first-pass call: the int32 scores take BATCH * N * 4 bytes meanwhile
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    """One shared pool per thread count: indexes come and go, threads should not pile up."""
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="openlfr-compact")
        return _pools[threads]


def _max_norm(rows: np.ndarray) -> float:
    return float(np.sqrt(np.einsum("ij,ij->i", rows, rows).max()))


class CompactGallery:
    """Exact cosine search (a `GalleryIndex`) with an int8 first pass; for 100k-1M+ vectors."""

    def __init__(
        self,
        vectors: np.ndarray,
        labels: np.ndarray,
        *,
        threads: int = 2,
        candidates: int = 256,
    ) -> None:
        vectors, labels = check_vectors(vectors, labels)
        if not np.isfinite(vectors).all():
            raise FrameShapeError("gallery: vectors contain NaN or infinity")
        self._vectors, self._labels = vectors, labels
        self.dim = int(vectors.shape[1]) if vectors.size else 0
        self.candidates = max(1, int(candidates))
        self.threads = max(1, int(threads))
        # Probes searched; of them, those whose bound left vectors outside the first candidates
        # (a second re-rank), and those that re-ranked the whole gallery.
        self.stats = {"probes": 0, "widened": 0, "exhaustive": 0}
        d = self.dim
        self._mid = np.zeros(d, np.float64)
        self._step = np.ones(d, np.float64)
        self._err = np.zeros(d, np.float64)  # E_d = max |x_d - x_hat_d|
        self._code_max = np.zeros(d, np.float64)  # C_d = max |c_d|
        self._err_norm = self._code_norm = self._max_norm = 0.0
        self._scorer: Int8Scorer | None = None
        self._row: np.ndarray | None = None
        self._lock = threading.Lock()
        if len(self):
            self._build()

    # -- building -------------------------------------------------------------------------------

    def _build(self) -> None:
        x = self._vectors
        n, d = x.shape
        lo, hi = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
        self._mid = (lo + hi) / 2
        step = (hi - lo) / (2 * MAX_CODE)
        self._step = np.where(step > 0, step, 1.0)  # a constant dimension: codes 0, error 0
        codes = np.empty((d, n), np.int8)
        offset = np.empty(n, np.int32)
        for a in range(0, n, _ENCODE_CHUNK):
            chunk = x[a : a + _ENCODE_CHUNK].astype(np.float64)
            c = np.clip(np.rint((chunk - self._mid) / self._step), -MAX_CODE, MAX_CODE)
            codes[:, a : a + len(chunk)] = c.T
            offset[a : a + len(chunk)] = ZERO * c.sum(axis=1)
            # The bounds are measured on the codes as stored.
            resid = chunk - (self._mid + self._step * c)
            self._err = np.maximum(self._err, np.abs(resid).max(axis=0))
            self._code_max = np.maximum(self._code_max, np.abs(c).max(axis=0))
            self._err_norm = max(self._err_norm, _max_norm(resid))
            self._code_norm = max(self._code_norm, _max_norm(c))
            self._max_norm = max(self._max_norm, _max_norm(chunk))
        self._scorer = Int8Scorer(codes, offset, self.threads)

    # -- protocol -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._vectors.shape[0])

    def memory_bytes(self) -> int:
        """Bytes held by the index: fp32 vectors, int8 codes, labels, offsets, one row of
        first-pass scores and tables (a batch search adds 8 rows while it runs)."""
        scorer = self._scorer
        codes = scorer.codes.nbytes + scorer.offset.nbytes if scorer is not None else 0
        row = 4 * len(self)  # the kept row of first-pass scores
        return int(self._vectors.nbytes + self._labels.nbytes + codes + row + 4 * self.dim * 8)

    def quantise(self, probes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Probes on the gallery's grid: uint8 codes p + ZERO (Q, D), scale s, base <q, mid>,
        and eps, the proven bound on |approx - exact fp32 score| for every gallery vector."""
        q = np.atleast_2d(np.asarray(probes, dtype=np.float64))
        w = q * self._step
        top = np.abs(w).max(axis=1) if q.shape[1] else np.zeros(len(q))
        scale = np.where(top > 0, top / _PROBE_MAX, 1.0)
        p = np.clip(np.rint(w / scale[:, None]), -_PROBE_MAX, _PROBE_MAX)
        base = q @ self._mid
        dw = np.abs(w - scale[:, None] * p)
        probe_err = np.minimum(dw @ self._code_max, np.linalg.norm(dw, axis=1) * self._code_norm)
        qnorm = np.linalg.norm(q, axis=1)
        grid_err = np.minimum(np.abs(q) @ self._err, qnorm * self._err_norm)
        rounding = 4.0 * (self.dim + 2) * _U * qnorm * self._max_norm
        eps = grid_err + probe_err + rounding + 1e-9 * (1.0 + qnorm * self._max_norm + np.abs(base))
        return (p + ZERO).astype(np.uint8), scale, base, eps

    def error_bound(self, probes: np.ndarray) -> np.ndarray:
        """Per probe, the proven bound on |first-pass score - exact score|."""
        return self.quantise(probes)[3]

    def approx_scores(self, probes: np.ndarray) -> np.ndarray:
        """First-pass scores (Q, N) as float64: <q, mid> + s * <p, c>."""
        p, scale, base, _ = self.quantise(probes)
        if self._scorer is None:
            return np.zeros((len(p), 0))
        y = self._scorer.scores(p) - self._scorer.offset
        return base[:, None] + scale[:, None] * y

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        probes = np.ascontiguousarray(np.atleast_2d(probes), dtype=np.float32)
        q = probes.shape[0]
        out_s = np.full((q, max(k, 0)), -np.inf, np.float32)
        out_l = np.full((q, max(k, 0)), -1, np.int64)
        if len(self) == 0 or k <= 0 or q == 0:
            return out_s, out_l
        if probes.ndim != 2 or probes.shape[1] != self.dim:
            raise FrameShapeError(f"probes: expected (Q, {self.dim}), got {probes.shape}")
        if not np.isfinite(probes).all():
            raise FrameShapeError("probes: contain NaN or infinity")
        assert self._scorer is not None
        p, scale, base, eps = self.quantise(probes)
        self.stats["probes"] += q

        def one(i: int, y: np.ndarray) -> str:
            np.subtract(y, offset, out=y)  # now exactly <p, c> for every vector
            out_s[i], out_l[i], how = self._search_one(
                probes[i], y, float(scale[i]), float(base[i]), float(eps[i]), k
            )
            return how

        offset = self._scorer.offset
        with self._lock:
            buf = self._buffer(min(q, _BATCH))
            for a in range(0, q, _BATCH):
                y = self._scorer.scores(p[a : a + _BATCH], out=buf[: min(_BATCH, q - a)])
                if len(y) == 1:
                    hows = [one(a, y[0])]
                else:  # numpy drops the GIL in the scans: one probe per thread
                    hows = list(_pool(self.threads).map(one, range(a, a + len(y)), y))
                for how in hows:
                    if how in self.stats:
                        self.stats[how] += 1
        return out_s, out_l

    # -- internals ------------------------------------------------------------------------------

    def _buffer(self, rows: int) -> np.ndarray:
        """First-pass scores, rows x N int32: one row is kept (a fresh array page-faults, a
        quarter of a single probe's time at 1M), a batch gets its own for the call."""
        if rows > 1:
            return np.empty((rows, len(self)), np.int32)
        if self._row is None:
            self._row = np.empty((1, len(self)), np.int32)
        return self._row

    def _leaders(self, y: np.ndarray, r: int) -> tuple[np.ndarray, int] | None:
        """Rows whose first-pass score is at least t0, the r-th best maximum of a block of
        rows (so at least r rows), and t0; None when r is most of the gallery."""
        n = len(y)
        if n < 4 * r:
            return None
        size = min(_BLOCK, max(1, n // (16 * r)))
        blocks = n // size
        tops = y[: blocks * size].reshape(blocks, size).max(axis=1)
        t0 = int(np.partition(tops, blocks - r)[blocks - r])
        # Only blocks whose maximum reaches t0, and the tail, can hold such rows.
        hit = np.flatnonzero(tops >= t0)
        rows = (hit[:, None] * size + np.arange(size)).ravel()
        rows = np.concatenate([rows, np.arange(blocks * size, n)])
        return rows[y[rows] >= t0], t0

    def _search_one(
        self, probe: np.ndarray, y: np.ndarray, scale: float, base: float, eps: float, k: int
    ) -> tuple[np.ndarray, np.ndarray, str]:
        """Top k of one probe from its exact first-pass integers y = <p, c>, and how it went:
        "first" (the leaders sufficed), "widened" or "exhaustive"."""
        r = max(self.candidates, 4 * k)
        while True:
            found = self._leaders(y, r)
            if found is None:
                break
            rows, t0 = found
            s, lab, kth = self._rerank(probe, rows, k)
            if kth > -np.inf:
                # Integer threshold: every row below it has approx + eps < kth - 2 * scale.
                t = int(np.clip(np.floor((kth - eps - base) / scale) - 1, -(2**31), 2**31 - 1))
                if t >= t0:
                    return s, lab, "first"  # every row that can reach kth was re-ranked
                wider = np.flatnonzero(y >= t)
                if 2 * len(wider) < len(y):
                    # The k labels found score >= kth, so a row below it cannot enter the top
                    # k: the sort is spared them (less the re-rank's own rounding, as the
                    # same row may round differently in another product).
                    s, lab, _ = self._rerank(probe, wider, k, floor=kth - self._rounding(probe))
                    return s, lab, "widened"
                break
            r *= 4  # fewer than k labels among the leaders
        s, lab, _ = self._rerank(probe, None, k)
        return s, lab, "exhaustive"

    def _rounding(self, probe: np.ndarray) -> float:
        """Bound on the fp32 rounding of one exact re-rank score (as in `quantise`'s eps)."""
        qnorm = float(np.linalg.norm(probe.astype(np.float64)))
        return 4.0 * (self.dim + 2) * _U * qnorm * self._max_norm + 1e-9

    def _rerank(
        self, probe: np.ndarray, rows: np.ndarray | None, k: int, floor: float = -np.inf
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Exact fp32 scores of `rows` (None: all), best per label, ties broken by row as an
        exhaustive stable sort would; returns (scores (k,), labels (k,), k-th label score or
        -inf). Rows scoring below ``floor`` are dropped before the sort: the caller proves
        k labels score at least that."""
        if rows is None:
            rows = np.arange(len(self), dtype=np.int64)
            exact = self._vectors @ probe
        else:
            exact = self._vectors[rows] @ probe
        if floor > -np.inf:
            keep = np.flatnonzero(exact >= floor)
            rows, exact = rows[keep], exact[keep]
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
