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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.config import Settings
from openlfr.engines.ray_engine import RayEngine


@dataclass(frozen=True)
class EmbedResult:
    """One image: `vector` (float32, unit length) or `reason` it was rejected, never both.
    `image`: the decoded picture re-encoded as JPEG (what the custody import seals: no metadata,
    no trailing bytes of the uploaded file), when asked for."""

    index: int  # position in the input
    vector: np.ndarray | None
    reason: str | None
    image: bytes | None = None


_MODELS: dict[str, tuple[Any, Any]] = {}


def _models(settings: Settings) -> tuple[Any, Any]:
    """One detector and embedder per worker process (Ray reuses workers across tasks)."""
    from openlfr.vision.factory import build_detector, build_embedder

    key = settings.vision.model_dump_json()
    if key not in _MODELS:
        _MODELS[key] = (build_detector(settings.vision), build_embedder(settings.vision))
    return _MODELS[key]


def embed_chunk(
    settings: Settings,
    chunk: Sequence[tuple[int, bytes | Path, str]],
    *,
    models: tuple[Any, Any] | None = None,
    keep_image: bool = False,
) -> list[EmbedResult]:
    """Runs on a Ray worker or a local worker process (and is plain Python, so tests can call
    it here too). An item's data is the file's bytes, or a path read where this runs; `models`
    (detector, embedder) replaces the worker's own."""
    from openlfr.errors import ImageRejected
    from openlfr.vision.align import align_face
    from openlfr.vision.images import find_single_face, read_file_capped, read_image_bytes

    detector, embedder = models or _models(settings)
    crops: list[np.ndarray] = []
    out: list[EmbedResult | None] = []
    images: list[bytes | None] = []
    for index, data, name in chunk:
        try:
            raw = read_file_capped(data) if isinstance(data, Path) else data
            picture = read_image_bytes(raw, name)
            face = find_single_face(picture, detector, name)
        except ImageRejected as exc:
            out.append(EmbedResult(index, None, exc.reason))
            images.append(None)
            continue
        crops.append(align_face(face.image, face.detections.landmarks[0]))
        out.append(None)
        images.append(_jpeg(picture) if keep_image else None)
    vectors = embedder.embed_batch(crops).vectors if crops else np.zeros((0, embedder.dim))
    done, at = [], 0
    for (index, _, _), res, image in zip(chunk, out, images, strict=True):
        if res is None:
            res = EmbedResult(index, np.asarray(vectors[at], np.float32), None, image)
            at += 1
        done.append(res)
    return done


def pool_worker_init(settings: Settings) -> None:
    """Starts a local worker process of the custody import (service/custody_faces.py): its
    models load now, in parallel with the other workers', not on its first chunk."""
    import cv2

    # One process per core: OpenCV's own thread pool on top would oversubscribe the cores.
    cv2.setNumThreads(1)
    _models(settings)


def worker_pid() -> int:
    import os

    return os.getpid()


def embed_chunk_kept(
    settings: Settings, chunk: Sequence[tuple[int, bytes | Path, str]]
) -> list[EmbedResult]:
    """`embed_chunk` with each image re-encoded: a picklable entry point for a process pool."""
    return embed_chunk(settings, chunk, keep_image=True)


def _jpeg(picture: np.ndarray) -> bytes:
    import cv2

    ok, jpeg = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:  # pragma: no cover - a decoded image always re-encodes
        raise ValueError("could not re-encode a decoded image")
    return bytes(jpeg.tobytes())


def embed_images_on_ray(
    paths_or_bytes: Iterable[Path | str | bytes],
    settings: Settings,
    *,
    chunk: int = 16,
    in_flight: int = 8,
    engine: RayEngine | None = None,
    keep_image: bool = False,
) -> Iterator[EmbedResult]:
    """Embeds every image on the cluster of `settings.ray` (or `engine`'s), yielding results in
    input order as they come. At most `in_flight` chunks are out at once, so a million-row
    import never holds more than in_flight x chunk images in the object store.

    A path is read here, on the driver (the nodes need not see its disk); one that cannot be
    read is rejected with its reason, here. Refuses with `RayEngineError` (nothing started)
    when the cluster does not answer."""
    import ray

    from openlfr.errors import ImageRejected
    from openlfr.vision.images import read_file_capped

    own = engine is None
    eng = engine or RayEngine(settings=settings.ray)
    eng.connect()
    unread: dict[int, str] = {}  # read failures on the driver: never sent

    def chunks() -> Iterator[list[tuple[int, bytes, str]]]:
        batch: list[tuple[int, bytes, str]] = []
        for i, item in enumerate(paths_or_bytes):
            if isinstance(item, bytes):
                batch.append((i, item, f"image {i}"))
            else:
                try:
                    batch.append((i, read_file_capped(Path(item)), Path(item).name))
                except ImageRejected as exc:
                    unread[i] = exc.reason
                    batch.append((i, b"", Path(item).name))
            if len(batch) >= chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    def ready(ref: Any) -> Iterator[EmbedResult]:
        for res in ray.get(ref):
            reason = unread.pop(res.index, None)
            yield res if reason is None else EmbedResult(res.index, None, reason)

    try:
        task: Any = ray.remote(num_cpus=1)(embed_chunk)
        pending: list[Any] = []
        for part in chunks():
            pending.append(task.remote(settings, part, keep_image=keep_image))
            if len(pending) >= in_flight:
                yield from ready(pending.pop(0))
        while pending:
            yield from ready(pending.pop(0))
    finally:
        if own:
            eng.close()
