"""The custody import's embedding, fanned out over a Ray cluster (issue 10 item 4, last line).

What one custody row needs of a model (`find_single_face`, `align_face`, `embed_batch`: the
same steps as `service.custody_import._face` and its batch embedding) runs in Ray tasks, a chunk
of images per task, on whichever nodes have room; the driver gets back, per image in input
order, the embedding or the reason it was rejected. Nothing is written here: the caller (the
custody import, in service/) seals and stores what comes back, so every write still goes
through service/ and is audited there.

Unlike a camera's frames, custody images must cross the network to reach the nodes: they are
sent as the file's bytes, once, through Ray's object store, and only to a cluster the operator
named. Ray is imported only when called.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.config import Settings
from openlfr.engines.ray_engine import RayEngine


@dataclass(frozen=True)
class EmbedResult:
    """One image: `vector` (float32, unit length) or `reason` it was rejected, never both."""

    index: int  # position in the input
    vector: np.ndarray | None
    reason: str | None


_MODELS: dict[str, tuple[Any, Any]] = {}


def _models(settings: Settings) -> tuple[Any, Any]:
    """One detector and embedder per worker process (Ray reuses workers across tasks)."""
    from openlfr.vision.factory import build_detector, build_embedder

    key = settings.vision.model_dump_json()
    if key not in _MODELS:
        _MODELS[key] = (build_detector(settings.vision), build_embedder(settings.vision))
    return _MODELS[key]


def embed_chunk(settings: Settings, chunk: list[tuple[int, bytes, str]]) -> list[EmbedResult]:
    """Runs on a Ray worker (and is plain Python, so tests can call it here too)."""
    from openlfr.errors import ImageRejected
    from openlfr.vision.align import align_face
    from openlfr.vision.images import find_single_face, read_image_bytes

    detector, embedder = _models(settings)
    crops: list[np.ndarray] = []
    out: list[EmbedResult | None] = []
    for index, data, name in chunk:
        try:
            face = find_single_face(read_image_bytes(data, name), detector, name)
        except ImageRejected as exc:
            out.append(EmbedResult(index, None, exc.reason))
            continue
        crops.append(align_face(face.image, face.detections.landmarks[0]))
        out.append(None)
    vectors = embedder.embed_batch(crops).vectors if crops else np.zeros((0, embedder.dim))
    done, at = [], 0
    for (index, _, _), res in zip(chunk, out, strict=True):
        if res is None:
            res = EmbedResult(index, np.asarray(vectors[at], np.float32), None)
            at += 1
        done.append(res)
    return done


def embed_images_on_ray(
    paths_or_bytes: Iterable[Path | str | bytes],
    settings: Settings,
    *,
    chunk: int = 16,
    in_flight: int = 8,
    engine: RayEngine | None = None,
) -> Iterator[EmbedResult]:
    """Embeds every image on the cluster of `settings.ray` (or `engine`'s), yielding results in
    input order as they come. At most `in_flight` chunks are out at once, so a million-row
    import never holds more than in_flight x chunk images in the object store.

    A path is read here, on the driver (the nodes need not see its disk). Refuses with
    `RayEngineError` (nothing started) when the cluster does not answer."""
    import ray

    own = engine is None
    eng = engine or RayEngine(settings=settings.ray)
    eng.connect()
    try:
        task: Any = ray.remote(num_cpus=1)(embed_chunk)
        pending: list[Any] = []
        batch: list[tuple[int, bytes, str]] = []

        def chunks() -> Iterator[list[tuple[int, bytes, str]]]:
            nonlocal batch
            for i, item in enumerate(paths_or_bytes):
                if isinstance(item, bytes):
                    batch.append((i, item, f"image {i}"))
                else:
                    batch.append((i, Path(item).read_bytes(), Path(item).name))
                if len(batch) >= chunk:
                    yield batch
                    batch = []
            if batch:
                yield batch

        for part in chunks():
            pending.append(task.remote(settings, part))
            if len(pending) >= in_flight:
                yield from ray.get(pending.pop(0))
        while pending:
            yield from ray.get(pending.pop(0))
    finally:
        if own:
            eng.close()
