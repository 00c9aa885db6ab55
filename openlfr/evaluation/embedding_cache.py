"""Embedding evaluation images, once each, with a small on-disk cache.

The cache is for EVALUATION images only (public research sets such as LFW, embedded again and
again while measuring). Enrolment never goes through here: a watchlist's reference images and
their templates live only in the encrypted store. The cache holds one vector (or "no face") per
image, keyed by the vision settings that made it and the file's resolved path, size and mtime, so
a changed file or model is embedded afresh. It lives under the user cache directory
(`platformdirs.user_cache_dir("openlfr")/eval-embeddings`), mode 0700; delete it at will.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from platformdirs import user_cache_dir

from openlfr.config import VisionSettings
from openlfr.errors import ImageRejected
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.images import find_single_face, read_image
from openlfr.vision.landmarks import REFINE_FACE_PX

ProgressFn = Callable[[int, int], None]  # (done, total)


def default_cache_dir() -> Path:
    return Path(user_cache_dir("openlfr")) / "eval-embeddings"


def model_key(vision: VisionSettings) -> str:
    """Everything about the vision settings that changes an image's embedding."""
    return "|".join(
        [
            f"det={vision.detector}",
            f"emb={vision.embedder}",
            f"score={vision.detector_score}",
            f"nms={vision.detector_nms}",
            f"side={vision.detect_max_side}",
            "several=central",
            "align=lsq",  # least-squares alignment (vision/align.py); LMEDS vectors differ
        ]
        + ([f"refine={REFINE_FACE_PX:g}"] if vision.refine_landmarks else [])
        + (["flip=1"] if vision.flip_tta else [])  # absent when off: older caches stay valid
    )


def file_key(path: Path) -> str:
    real = path.resolve()
    st = real.stat()
    raw = f"{real}\x00{st.st_size}\x00{st.st_mtime_ns}"
    return hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest()


class EmbeddingCache:
    """{file key: vector or None (no face)} for one model key, in one .npz file."""

    def __init__(self, model: str, dim: int, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else default_cache_dir()
        name = hashlib.sha1(model.encode()).hexdigest()[:16]
        self.path = self.directory / f"{name}.npz"
        self.dim = dim
        self._entries: dict[str, np.ndarray | None] = {}
        self._new: dict[str, np.ndarray | None] = {}
        self._entries.update(self._read())

    def _read(self) -> dict[str, np.ndarray | None]:
        try:
            with np.load(self.path, allow_pickle=False) as z:
                keys, vecs, ok = z["keys"], z["vectors"], z["ok"]
        except (OSError, KeyError, ValueError):
            return {}  # absent or unreadable: start afresh
        if vecs.ndim != 2 or vecs.shape[1] != self.dim or not (len(keys) == len(vecs) == len(ok)):
            return {}
        return {
            str(k): (v.astype(np.float32) if o else None)
            for k, v, o in zip(keys, vecs, ok, strict=True)
        }

    def get(self, key: str) -> tuple[bool, np.ndarray | None]:
        """(found, vector); a found None means "no face" was recorded."""
        if key in self._entries:
            return True, self._entries[key]
        return False, None

    def put(self, key: str, vector: np.ndarray | None) -> None:
        self._entries[key] = vector
        self._new[key] = vector

    def save(self) -> None:
        """Merges what others wrote meanwhile, then replaces the file atomically."""
        if not self._new:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            os.chmod(self.directory, 0o700)
        merged = self._read()
        merged.update(self._new)
        keys = np.array(list(merged), dtype="U40")
        vecs = np.zeros((len(keys), self.dim), np.float32)
        ok = np.zeros(len(keys), bool)
        for i, v in enumerate(merged.values()):
            if v is not None:
                vecs[i], ok[i] = v, True
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".npz.tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, keys=keys, vectors=vecs, ok=ok)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._new.clear()


@dataclass(frozen=True)
class EmbeddedImages:
    """One row per input path; `ok[i]` is False where no face was found (or the image was
    unreadable), and then `vectors[i]` is zero and `reasons[path]` says why."""

    vectors: np.ndarray  # (N, D) float32, unit rows where ok
    ok: np.ndarray  # (N,) bool
    reasons: dict[str, str]


def embed_files(
    paths: Sequence[Path],
    vision: VisionSettings,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> EmbeddedImages:
    """Embeds the one (central) face of each image; each distinct path is embedded once."""
    mkey = model_key(vision)
    detector = None
    embedder = None
    dim = 128
    cache = EmbeddingCache(mkey, dim, cache_dir) if use_cache else None
    vectors = np.zeros((len(paths), dim), np.float32)
    ok = np.zeros(len(paths), bool)
    reasons: dict[str, str] = {}
    for i, path in enumerate(paths):
        key = file_key(path)
        found, vec = cache.get(key) if cache is not None else (False, None)
        if not found:
            if detector is None or embedder is None:
                detector, embedder = build_detector(vision), build_embedder(vision)
                if embedder.dim != dim:
                    raise ValueError(f"embedder {embedder.name} makes {embedder.dim}-d vectors")
            try:
                face = find_single_face(read_image(path), detector, str(path), several="central")
                vec = embedder.embed(face.image, face.detections.landmarks).vectors[0]
            except ImageRejected as exc:
                vec = None
                reasons[str(path)] = exc.reason
            if cache is not None:
                cache.put(key, vec)
        elif vec is None:
            reasons[str(path)] = "no usable face (cached result)"
        if vec is not None:
            vectors[i], ok[i] = vec, True
        if progress is not None:
            progress(i + 1, len(paths))
        if cache is not None and (i + 1) % 500 == 0:
            cache.save()  # an interrupted run keeps most of its work
    if cache is not None:
        cache.save()
    return EmbeddedImages(vectors, ok, reasons)
