"""What the pipeline needs of a gallery index."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class GalleryIndex(Protocol):
    """Exact cosine search over unit-length float32 vectors, each tagged with an integer label.

    Several vectors may share a label (several reference images of one subject); `search`
    returns, per probe, the best score of each of the top-k distinct labels.
    """

    dim: int

    def __len__(self) -> int: ...

    def search(self, probes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """probes (Q, dim) float32 -> (scores (Q, k) float32, labels (Q, k) int64).

        Rows are sorted best first; missing entries have label -1 and score -inf.
        """
        ...
