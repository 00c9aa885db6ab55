"""One cached pass over evaluation images: each image's central face is found once and turned
into a row of numbers (vectors, factors) by the caller's function; images with no usable face
give no row. Rows are cached by file, so a lever measured again costs nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import ImageRejected
from openlfr.evaluation.embedding_cache import EmbeddingCache, file_key
from openlfr.vision.factory import build_detector
from openlfr.vision.images import SingleFace, find_single_face, read_image

ProgressFn = Callable[[int, int], None]
SAVE_EVERY = 500  # a long first pass keeps what it has if it is stopped


def face_rows(
    paths: Sequence[Path],
    vision: VisionSettings,
    cache: EmbeddingCache,
    row_of: Callable[[SingleFace], np.ndarray],
    *,
    fill: float = 0.0,
    progress: ProgressFn | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, cache.dim) float32 rows (``fill`` where no face) and a bool mask of those found."""
    detector = None
    out = np.full((len(paths), cache.dim), fill, np.float32)
    ok = np.zeros(len(paths), bool)
    for i, path in enumerate(paths):
        key = file_key(path)
        found, vec = cache.get(key)
        if not found:
            detector = detector or build_detector(vision)
            try:
                face = find_single_face(read_image(path), detector, str(path), several="central")
                vec = row_of(face)
            except ImageRejected:
                vec = None
            cache.put(key, vec)
            if (i + 1) % SAVE_EVERY == 0:
                cache.save()
        if vec is not None:
            out[i], ok[i] = vec, True
        if progress is not None:
            progress(i + 1, len(paths))
    cache.save()
    return out, ok
