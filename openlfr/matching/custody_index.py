"""The persistent custody index: exact 1:N search of millions of custody images, on disk.

Layout of the folder (one per store; the service keeps it in step with ``custody_images``):

- ``vectors.f32`` (N x D float32), ``ids.i32`` (N row ids), ``alive.u8`` (N flags): append-only
  files, memory-mapped. A slot is never reused; a removal zeroes its alive flag in place.
- ``seg-<gen>.codes`` (D x n int8) and ``seg-<gen>.off`` (n int32): the int8 codes of
  `matching.compact` for consecutive slots (read into memory as blocks that threads take in
  turn, `matching.custody_scan`), in a few segments so that an import appends a
  segment instead of re-encoding the estate. Every segment shares one grid (mid, step); its
  measured error bounds only ever grow, so the first pass stays a proven bound and the search
  stays exact (`CompactGallery`'s first pass and re-rank, unchanged).
- ``meta.json``: count, dim, embedding model, grid and bounds, segments, generation. It is
  replaced atomically LAST, so a write killed part-way leaves the old index, whole (bytes past
  ``count`` in the append-only files are cut off at the next write).

Eligibility is applied INSIDE the search: a removed slot's first-pass offset is poisoned (it
can never lead) and every re-rank drops slots whose alive flag is 0. The alive file is a shared
memory map, so a removal by one process leaves every other process's search at once.

Trade-off: the vectors here are NOT encrypted (a memory-mapped search cannot be); the folder is
0700 and its files 0600 inside the private data folder, and only eligible images are ever
written to it. The sealed embeddings in the database remain the record; this is a cache.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.errors import FrameShapeError, OpenLFRError
from openlfr.matching.compact import CompactGallery
from openlfr.matching.custody_grid import Grid
from openlfr.matching.custody_scan import Segments, read_blocks

#: While the index is at most this big an add re-derives the grid and re-encodes everything
#: (tens of ms): the grid of a small first import would be a poor fit for the estate.
REGRID_MAX = 65_536
MAX_SEGMENTS = 8  # more and the tail segments are merged (codes copied, not re-encoded)
_POISON = 2**30  # a removed slot's offset: its first-pass score falls below any live one


class CustodyIndexError(OpenLFRError):
    """The index folder is unusable (another model's vectors, a broken meta file)."""


def _private(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _append(path: Path, keep: int, data: bytes) -> None:
    """Cut ``path`` to ``keep`` bytes (what meta.json vouches for), then append ``data``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as fh:
        fh.truncate(keep)
        fh.seek(keep)
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


class _Gallery(CompactGallery):
    """`CompactGallery`'s exact search over the memory-mapped slots, honouring the alive flags."""

    def __init__(
        self, vectors: np.ndarray, ids: np.ndarray, alive: np.ndarray, grid: Grid,
        scorer: Segments, threads: int,
    ) -> None:  # fmt: skip
        # Deliberately not super().__init__: that would copy the vectors and re-encode them.
        self._vectors, self._labels, self._alive = vectors, ids, alive
        self.dim = int(vectors.shape[1])
        self.candidates, self.threads = 256, max(1, int(threads))
        self.stats = {"probes": 0, "widened": 0, "exhaustive": 0}
        self._mid, self._step, self._err, self._code_max = (
            grid.mid,
            grid.step,
            grid.err,
            grid.code_max,
        )
        self._err_norm, self._code_norm, self._max_norm = (
            grid.err_norm,
            grid.code_norm,
            grid.max_norm,
        )
        self._scorer = scorer  # type: ignore[assignment]
        self._row = None
        self._lock = threading.Lock()

    def flush_alive(self) -> None:
        if isinstance(self._alive, np.memmap):
            self._alive.flush()

    def poison(self, slots: np.ndarray) -> None:
        assert self._scorer is not None
        self._scorer.offset[slots] = _POISON

    def _rerank(
        self, probe: np.ndarray, rows: np.ndarray | None, k: int, floor: float = -np.inf
    ) -> tuple[np.ndarray, np.ndarray, float]:
        # The eligibility filter: a removed slot is never scored, whoever removed it.
        rows = np.flatnonzero(self._alive) if rows is None else rows[self._alive[rows] != 0]
        return super()._rerank(probe, rows, k, floor)


class CustodyIndex:
    """Open with ``CustodyIndex.open(folder, model=...)``; see the module docstring."""

    def __init__(self, folder: Path, model: str, threads: int) -> None:
        self.folder, self.model, self.threads = folder, model, threads
        self._lock = threading.RLock()
        self._meta: dict[str, Any] = {}
        self._stamp: int | None = None
        self._gallery: _Gallery | None = None
        self._alive_count = 0
        self._codes: dict[str, list[np.ndarray]] = {}  # segment file -> its code blocks

    @classmethod
    def open(cls, folder: Path, *, model: str, threads: int = 2) -> CustodyIndex:
        _private(folder)
        index = cls(folder, model, threads)
        index.refresh()
        return index

    # -- state ----------------------------------------------------------------------------------

    @property
    def _meta_path(self) -> Path:
        return self.folder / "meta.json"

    @property
    def count(self) -> int:
        """Slots written (alive or not)."""
        return int(self._meta.get("count", 0))

    @property
    def dim(self) -> int:
        return int(self._meta.get("dim", 0))

    @property
    def watermark(self) -> int:
        """The highest row id ever added (0 for none)."""
        return int(self._meta.get("watermark", 0))

    def __len__(self) -> int:
        return self._alive_count

    def refresh(self) -> bool:
        """Reload if another process changed meta.json; True when it did."""
        with self._lock:
            try:
                stamp = self._meta_path.stat().st_mtime_ns
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp and (self._gallery is not None or stamp is None):
                return False
            self._load(stamp)
            return True

    def _load(self, stamp: int | None) -> None:
        if stamp is None:
            self._meta, self._stamp, self._gallery, self._alive_count = {}, None, None, 0
            self._codes = {}
            return
        try:
            meta = json.loads(self._meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CustodyIndexError(
                f"custody index {self._meta_path} is unreadable: {exc}"
            ) from None
        if meta.get("model") != self.model:
            raise CustodyIndexError(
                f"custody index {self.folder} holds {meta.get('model')!r} vectors, not "
                f"{self.model!r}: move it aside and run the index sync to rebuild it"
            )
        self._meta, self._stamp = meta, stamp
        n, d = int(meta["count"]), int(meta["dim"])
        if n == 0:
            self._gallery, self._alive_count = None, 0
            return
        vectors = np.memmap(self.folder / "vectors.f32", np.float32, "r", shape=(n, d))
        ids = np.memmap(self.folder / "ids.i32", np.int32, "r", shape=(n,))
        alive = np.memmap(self.folder / "alive.u8", np.uint8, "r+", shape=(n,))
        blocks: list[np.ndarray] = []
        offsets = []
        codes_now: dict[str, list[np.ndarray]] = {}
        for seg in meta["segments"]:
            size = int(seg["n"])
            if seg["file"] not in self._codes:  # segments never change once written
                try:
                    self._codes[seg["file"]] = read_blocks(
                        self.folder / f"{seg['file']}.codes", d, size
                    )
                except (OSError, ValueError) as exc:
                    raise CustodyIndexError(f"custody index {self.folder}: {exc}") from None
            codes_now[seg["file"]] = self._codes[seg["file"]]
            blocks += codes_now[seg["file"]]
            offsets.append(np.fromfile(self.folder / f"{seg['file']}.off", np.int32, size))
        self._codes = codes_now
        offset = np.concatenate(offsets)
        offset[alive == 0] = _POISON
        grid = Grid.from_dict(meta["grid"])
        self._gallery = _Gallery(
            vectors, ids, alive, grid, Segments(blocks, offset, self.threads), self.threads
        )
        self._alive_count = int(np.count_nonzero(alive))

    def memory_bytes(self) -> int:
        """Bytes of the index: fp32 vectors (mapped), ids, alive flags, codes, offsets and the
        kept first-pass row; the raw vectors alone are ``count * dim * 4``."""
        g = self._gallery
        if g is None:
            return 0
        seg: Segments = g._scorer  # type: ignore[assignment]
        return int(g._vectors.nbytes + g._labels.nbytes + g._alive.nbytes + seg.nbytes()
                   + 4 * self.count)  # fmt: skip

    # -- search ---------------------------------------------------------------------------------

    def search(self, probe: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
        """(row ids, scores) of the ``top`` alive vectors nearest ``probe``, best first: exactly
        what a brute-force scan of the alive vectors gives. Fewer when fewer are alive."""
        scores, ids = self.search_many(np.atleast_2d(probe), top)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]

    def search_many(self, probes: np.ndarray, top: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores (Q, top) and row ids (Q, top), -1 / -inf where fewer were found."""
        self.refresh()
        with self._lock:
            q = np.atleast_2d(probes).shape[0]
            if self._gallery is None or self._alive_count == 0:
                return np.full((q, top), -np.inf, np.float32), np.full((q, top), -1, np.int64)
            return self._gallery.search(probes, top)

    # -- updates --------------------------------------------------------------------------------

    def _slots(self, ids: np.ndarray) -> np.ndarray:
        assert self._gallery is not None
        stored = np.asarray(self._gallery._labels)
        order = np.argsort(stored, kind="stable") if not self._meta.get("sorted", True) else None
        keys = stored if order is None else stored[order]
        lo, hi = np.searchsorted(keys, ids, "left"), np.searchsorted(keys, ids, "right")
        spans = [np.arange(a, b) for a, b in zip(lo, hi, strict=True) if b > a]
        if not spans:
            return np.empty(0, np.int64)
        slots = np.concatenate(spans)
        return slots if order is None else order[slots]

    def remove(self, ids: np.ndarray) -> int:
        """Takes these row ids out of every search at once (persisted); returns how many slots
        were alive. Unknown ids are ignored: removing twice is harmless."""
        ids = np.unique(np.asarray(ids, np.int64))
        with self._lock:
            self.refresh()
            if self._gallery is None or ids.size == 0:
                return 0
            slots = self._slots(ids)
            g = self._gallery
            slots = slots[g._alive[slots] != 0]
            if slots.size:
                g._alive[slots] = 0
                g.flush_alive()  # msync: on disk, and already seen by every mapping process
                g.poison(slots)
                self._alive_count -= int(slots.size)
            return int(slots.size)

    def alive_ids(self) -> np.ndarray:
        with self._lock:
            self.refresh()
            if self._gallery is None:
                return np.empty(0, np.int64)
            g = self._gallery
            return np.asarray(g._labels[g._alive != 0], np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> int:
        """Appends vectors under their row ids (ids already alive are skipped); returns how many
        were added. Durable when it returns; a failure (disk full) leaves the index as it was."""
        ids = np.asarray(ids, np.int64)
        vectors = np.ascontiguousarray(vectors, np.float32)
        if vectors.ndim != 2 or ids.shape != (len(vectors),):
            raise FrameShapeError(f"custody index: ids {ids.shape} and vectors {vectors.shape}")
        if not np.isfinite(vectors).all():
            raise FrameShapeError("custody index: vectors contain NaN or infinity")
        if ids.size and (ids.min() < 1 or ids.max() >= 2**31 or np.unique(ids).size != ids.size):
            raise FrameShapeError("custody index: ids must be distinct row ids in 1..2**31-1")
        with self._lock:
            self.refresh()
            if self.count and vectors.shape[1] != self.dim:
                raise FrameShapeError(
                    f"custody index: vectors of {self.dim}, not {vectors.shape[1]}"
                )
            if self._gallery is not None and ids.size:
                fresh = ~np.isin(ids, self.alive_ids())
                ids, vectors = ids[fresh], vectors[fresh]
            if ids.size == 0:
                return 0
            self._append(ids, vectors)
            return int(ids.size)

    def _append(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        old, d = self.count, int(vectors.shape[1])
        n = old + len(ids)
        fresh: dict[str, Any] = {"model": self.model, "dim": d, "segments": [],
                                 "generation": 0, "watermark": 0, "sorted": True}  # fmt: skip
        meta: dict[str, Any] = dict(self._meta) if old else fresh
        gen = int(meta["generation"]) + 1
        _append(self.folder / "vectors.f32", old * d * 4, vectors.tobytes())
        _append(self.folder / "ids.i32", old * 4, ids.astype(np.int32).tobytes())
        _append(self.folder / "alive.u8", old, np.ones(len(ids), np.uint8).tobytes())
        segments: list[dict[str, Any]] = list(meta["segments"])
        # Re-encode everything on a fresh grid while small, or when this add at least doubles
        # the index (amortised: each vector is re-encoded O(1) times over its life).
        if n <= REGRID_MAX or len(ids) >= old:
            allv = np.memmap(self.folder / "vectors.f32", np.float32, "r", shape=(n, d))
            grid = Grid.fitted(allv)
            codes, offset = grid.encode(allv)
            segments = [self._write_segment(gen, codes, offset)]
        else:
            grid = Grid.from_dict(meta["grid"])
            codes, offset = grid.encode(vectors)
            segments.append(self._write_segment(gen, codes, offset))
            if len(segments) > MAX_SEGMENTS:
                segments = [*segments[:1], self._merge(gen, segments[1:], d)]
        prev_ids = self._gallery._labels if self._gallery is not None else np.empty(0, np.int32)
        ordered = bool(meta["sorted"]) and (len(prev_ids) == 0 or bool(ids.min() > prev_ids.max()))
        ordered = ordered and bool(np.all(np.diff(ids) > 0))
        mark = max(int(meta["watermark"]), int(ids.max()))
        meta.update(count=n, generation=gen, grid=grid.as_dict(), segments=segments)
        meta.update(watermark=mark, sorted=ordered)
        tmp = self.folder / "meta.json.tmp"
        _write_new(tmp, json.dumps(meta).encode("utf-8"))
        os.replace(tmp, self._meta_path)  # the moment the new slots exist
        keep = {f"{s['file']}.{ext}" for s in segments for ext in ("codes", "off")}
        for path in self.folder.glob("seg-*"):
            if path.name not in keep:
                path.unlink(missing_ok=True)
        self._load(self._meta_path.stat().st_mtime_ns)

    def _write_segment(self, gen: int, codes: np.ndarray, offset: np.ndarray) -> dict[str, Any]:
        name = f"seg-{gen:08d}-{codes.shape[1]}"
        _write_new(self.folder / f"{name}.codes", np.ascontiguousarray(codes).tobytes())
        _write_new(self.folder / f"{name}.off", offset.tobytes())
        return {"file": name, "n": int(codes.shape[1])}

    def _merge(self, gen: int, segments: list[dict[str, Any]], d: int) -> dict[str, Any]:
        """The tail segments as one: their codes copied side by side (same grid, no re-encode)."""
        parts = [
            np.fromfile(self.folder / f"{s['file']}.codes", np.int8).reshape(d, int(s["n"]))
            for s in segments
        ]
        offs = [np.fromfile(self.folder / f"{s['file']}.off", np.int32) for s in segments]
        name = f"seg-{gen:08d}m"
        _write_new(self.folder / f"{name}.codes", np.ascontiguousarray(np.hstack(parts)).tobytes())
        _write_new(self.folder / f"{name}.off", np.concatenate(offs).tobytes())
        return {"file": name, "n": int(sum(p.shape[1] for p in parts))}
