"""The custody index's first pass: int8 codes held in memory as column blocks, scored by a
small pool of threads that each take the next block.

Why blocks and not one multi-threaded call. `Int8Scorer` with two intra-op threads splits a
segment in two fixed halves; on a shared machine where another process holds one core, the
half on that core takes twice as long and the call waits for it (10M x 128: 80-196 ms per
probe, against 50 ms for one streaming read of the codes). Blocks of ``BLOCK_COLS`` vectors,
each a single-threaded call (onnxruntime releases the GIL), go to whichever thread is free, so
a slowed core only does less of the work. The arithmetic per vector is unchanged, exactly
`Int8Scorer`'s.

Why in memory and not mapped: the pass streams every code for every probe, and from a file
mapping (4 KiB pages) it ran 95-146 ms at 10M against 80-103 ms from memory (numpy asks for
huge pages). Segments never change once written, so a reload after an add reads only new ones.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from openlfr.matching.int8_kernel import MAX_CODE, Int8Scorer, _session

#: Vectors per block: 64 MiB of codes at 128-d; ~0.1 ms of call overhead each, 20 blocks at 10M.
BLOCK_COLS = 1 << 19
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="openlfr-scan")
        return _pools[threads]


class _Block(Int8Scorer):
    """`Int8Scorer.scores` on one block, single-threaded; its codes were checked when read."""

    def __init__(self, codes: np.ndarray) -> None:  # not super(): no second pass over codes
        self.codes = codes
        self.offset = np.zeros(codes.shape[1:], np.int32)[:0]  # unused: Segments holds offsets
        self._session = _session(1)


def read_blocks(path: Path, d: int, size: int) -> list[np.ndarray]:
    """A segment file's (D x size) codes as contiguous (D x b) column blocks in memory, read
    block by block from the file (no second whole copy of the segment at any time)."""
    if path.stat().st_size < d * size:
        raise ValueError(f"custody index segment {path.name} is truncated")
    blocks = []
    mapped = np.memmap(path, np.int8, "r", shape=(d, size)) if size else None
    for a in range(0, size, BLOCK_COLS):
        assert mapped is not None
        block = np.ascontiguousarray(mapped[:, a : a + BLOCK_COLS])
        if block.size and int(block.min()) < -MAX_CODE:  # the kernel's exactness needs it
            raise ValueError(f"custody index segment {path.name} holds a code below -{MAX_CODE}")
        blocks.append(block)
    del mapped
    return blocks


class Segments:
    """Quacks like `Int8Scorer` over every block of every segment: one first-pass row."""

    def __init__(self, blocks: list[np.ndarray], offset: np.ndarray, threads: int) -> None:
        self.blocks = [_Block(b) for b in blocks]
        self.offset = offset  # all slots, in memory: removals poison it
        self.threads = max(1, int(threads))
        self._starts = np.cumsum([0] + [b.shape[1] for b in blocks])

    def nbytes(self) -> int:
        return sum(s.codes.nbytes for s in self.blocks) + self.offset.nbytes

    def scores(self, probes: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        m = np.atleast_2d(probes).shape[0]
        if out is None:
            out = np.empty((m, len(self.offset)), np.int32)

        def one(i: int) -> None:
            a, b = int(self._starts[i]), int(self._starts[i + 1])
            view = out[:, a:b]
            if view.flags.c_contiguous:  # one probe: write straight into the row
                self.blocks[i].scores(probes, out=view)
            else:
                view[:] = self.blocks[i].scores(probes)

        if self.threads == 1 or len(self.blocks) < 2:
            for i in range(len(self.blocks)):
                one(i)
        else:
            list(_pool(self.threads).map(one, range(len(self.blocks))))
        return out
