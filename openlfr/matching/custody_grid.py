"""The int8 grid of the custody index and its measured error bounds (see matching/compact.py).

One grid is shared by every segment; its bounds are maxima over every vector encoded, so they
only grow as segments are appended and the first pass stays a proven bound."""

from __future__ import annotations

from typing import Any

import numpy as np

from openlfr.matching.int8_kernel import MAX_CODE, ZERO

_ENCODE_CHUNK = 65_536


class Grid:
    """The shared int8 grid and its measured error bounds (see matching/compact.py)."""

    def __init__(self, dim: int) -> None:
        self.mid = np.zeros(dim, np.float64)
        self.step = np.ones(dim, np.float64)
        self.err = np.zeros(dim, np.float64)
        self.code_max = np.zeros(dim, np.float64)
        self.err_norm = self.code_norm = self.max_norm = 0.0

    @classmethod
    def fitted(cls, x: np.ndarray) -> Grid:
        grid = cls(x.shape[1])
        lo = np.full(x.shape[1], np.inf)
        hi = np.full(x.shape[1], -np.inf)
        for a in range(0, len(x), _ENCODE_CHUNK):
            chunk = np.asarray(x[a : a + _ENCODE_CHUNK], np.float64)
            lo, hi = np.minimum(lo, chunk.min(axis=0)), np.maximum(hi, chunk.max(axis=0))
        grid.mid = (lo + hi) / 2
        step = (hi - lo) / (2 * MAX_CODE)
        grid.step = np.where(step > 0, step, 1.0)
        return grid

    def encode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Codes (D, n) and offsets of ``x``; the bounds grow to cover them (clipped values too)."""
        n, d = x.shape
        codes, offset = np.empty((d, n), np.int8), np.empty(n, np.int32)
        for a in range(0, n, _ENCODE_CHUNK):
            chunk = np.asarray(x[a : a + _ENCODE_CHUNK], np.float64)
            c = np.clip(np.rint((chunk - self.mid) / self.step), -MAX_CODE, MAX_CODE)
            codes[:, a : a + len(chunk)] = c.T
            offset[a : a + len(chunk)] = ZERO * c.sum(axis=1)
            resid = chunk - (self.mid + self.step * c)
            self.err = np.maximum(self.err, np.abs(resid).max(axis=0))
            self.code_max = np.maximum(self.code_max, np.abs(c).max(axis=0))
            self.err_norm = max(self.err_norm, float(np.linalg.norm(resid, axis=1).max()))
            self.code_norm = max(self.code_norm, float(np.linalg.norm(c, axis=1).max()))
            self.max_norm = max(self.max_norm, float(np.linalg.norm(chunk, axis=1).max()))
        return codes, offset

    def as_dict(self) -> dict[str, Any]:
        return {
            "mid": self.mid.tolist(), "step": self.step.tolist(), "err": self.err.tolist(),
            "code_max": self.code_max.tolist(), "err_norm": self.err_norm,
            "code_norm": self.code_norm, "max_norm": self.max_norm,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Grid:
        grid = cls(len(data["mid"]))
        for name in ("mid", "step", "err", "code_max"):
            setattr(grid, name, np.asarray(data[name], np.float64))
        grid.err_norm, grid.code_norm = float(data["err_norm"]), float(data["code_norm"])
        grid.max_norm = float(data["max_norm"])
        return grid
