"""Where the custody import's faces are found and embedded (issue 11 item 1, issue 10 item 4).

Finding and embedding a face is ~25 ms of one core per custody image; the import's database
writes are a few ms. So the faces are found on every core while the import writes what is
done, through one small protocol with three engines:

- `InProcess`: here, with the context's own models (small imports, tests, one core).
- `LocalPool`: one worker process per core, each with its own models, a chunk of images per
  task, results in input order, a few chunks queued ahead so no core waits on a write.
- `OnRay`: the same chunks as Ray tasks across a cluster's nodes (`engines/ray_embed.py`),
  used only when the operator names a cluster (`--engine ray`).

Nothing is written by any of them: each returns, per image in input order, its embedding and
re-encoded JPEG or the reason it was rejected; the import seals, stores and audits.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Protocol

from openlfr.config import Settings
from openlfr.engines.ray_embed import (
    EmbedResult,
    embed_chunk,
    embed_chunk_kept,
    embed_images_on_ray,
    pool_worker_init,
    worker_pid,
)
from openlfr.machine import cores
from openlfr.service.context import AppContext

#: Images per task: big enough to batch the embedding, small enough to keep every core busy.
CHUNK = 8
#: Below this many images a pool is not worth its start (~1-2 s of model loading per worker).
POOL_MIN_IMAGES = 100

Job = tuple[int, Path, str]  # (position, file, name the rejects show)


class FaceEngine(Protocol):
    name: str

    def embed(self, jobs: Iterable[Job]) -> Iterator[EmbedResult]:
        """One result per job, in input order, with the image re-encoded."""
        ...

    def close(self) -> None: ...


def _chunks(jobs: Iterable[Job], size: int) -> Iterator[list[tuple[int, bytes | Path, str]]]:
    part: list[tuple[int, bytes | Path, str]] = []
    for job in jobs:
        part.append(job)
        if len(part) >= size:
            yield part
            part = []
    if part:
        yield part


class InProcess:
    name = "in-process"

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def embed(self, jobs: Iterable[Job]) -> Iterator[EmbedResult]:
        models = (self.ctx.detector, self.ctx.embedder)
        for part in _chunks(jobs, CHUNK):
            yield from embed_chunk(self.ctx.settings, part, models=models, keep_image=True)

    def close(self) -> None:
        pass


class LocalPool:
    """Worker processes (spawned: a forked copy of a process holding OpenCV's and SQLAlchemy's
    threads and connections is not safe). They start and load their models at once, while the
    import is still reading the CSV and the estate."""

    name = "local processes"

    def __init__(self, settings: Settings, workers: int) -> None:
        self.settings, self.workers = settings, max(1, workers)
        self.pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=pool_worker_init,
            initargs=(settings,),
        )
        # Python starts a pool's processes one per task submitted: start them all now.
        self._started = [self.pool.submit(worker_pid) for _ in range(self.workers)]

    def embed(self, jobs: Iterable[Job]) -> Iterator[EmbedResult]:
        pending: deque[Future[list[EmbedResult]]] = deque()
        ahead = 3 * self.workers
        for part in _chunks(jobs, CHUNK):
            pending.append(self.pool.submit(embed_chunk_kept, self.settings, part))
            if len(pending) >= ahead:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class OnRay:
    """Ray tasks on the cluster at ``address`` (else settings.ray's, else RAY_ADDRESS): for an
    estate too big for one machine's cores. The images cross the network to the nodes."""

    name = "ray"

    def __init__(self, settings: Settings, address: str | None = None) -> None:
        from openlfr.engines.ray_engine import RayEngine

        self.settings = settings
        self.engine = RayEngine(address or os.environ.get("RAY_ADDRESS"), settings=settings.ray)

    def embed(self, jobs: Iterable[Job]) -> Iterator[EmbedResult]:
        listed = list(jobs)
        results = embed_images_on_ray(
            (path for _, path, _ in listed), self.settings, chunk=CHUNK, engine=self.engine,
            keep_image=True,
        )  # fmt: skip
        for (index, _, _), res in zip(listed, results, strict=True):
            yield EmbedResult(index, res.vector, res.reason, res.image)

    def close(self) -> None:
        self.engine.close()


def choose_engine(
    ctx: AppContext, images: int, *, workers: int | None = None, engine: str = "local",
    ray_address: str | None = None,
) -> FaceEngine:  # fmt: skip
    """``engine``: "local" (every core of this machine, or here for a small import) or "ray"
    (a cluster: ``ray_address``, else settings.ray's, else RAY_ADDRESS). ``workers``: local
    processes (default: one per core)."""
    if engine == "ray":
        return OnRay(ctx.settings, ray_address)
    if engine != "local":
        raise ValueError(f"unknown face engine {engine!r} (local or ray)")
    n = cores() if workers is None else workers
    if n <= 1 or images < POOL_MIN_IMAGES:
        return InProcess(ctx)
    return LocalPool(ctx.settings, min(n, max(1, images // CHUNK)))
