"""The shared inference stage: one detector and one embedder for every camera of a process.

Each camera's thread decodes its own frames and hands the frame it wants analysed to the stage,
then waits; the stage's thread takes every frame waiting (lingering a few milliseconds for the
cameras that have not yet asked), detects faces in each, lets each camera pick its views, and
embeds all of them in ONE batched forward pass before each camera decides. One model instance
instead of one per camera saves memory, and the batched forward costs less per face. While a
camera waits its reader keeps decoding into its bounded queue, which drops the oldest frame
(counted) when analysis falls behind a live feed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np

from openlfr.pipeline.alerts import Alert
from openlfr.pipeline.analysis import CameraAnalysis, Pending
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

#: How long the stage waits for the other cameras once one frame is waiting: a fraction of a
#: frame at 10 analysed fps, long enough for cameras freed by the last batch to ask again.
LINGER_S = 0.004

Result = list[Alert] | BaseException


def analyse_batch(
    detector: Detector, embedder: Embedder, items: Sequence[tuple[CameraAnalysis, Frame]]
) -> list[Result]:
    """Analyses one frame for each (camera, frame): detect, prepare, embed together, decide.

    A camera whose frame failed (bad frame, detector error) gets its exception back instead of
    alerts; the others are unaffected. Every camera's `decide` runs, with no views or not, so
    that its ended tracks are forgotten on time."""
    results: list[Result | None] = [None] * len(items)
    prepared: list[tuple[int, list[Pending]]] = []
    for i, (analysis, frame) in enumerate(items):
        try:
            prepared.append((i, analysis.prepare(frame, detector.detect(frame.image))))
        except Exception as exc:
            results[i] = exc
    crops = [p.aligned for _, pending in prepared for p in pending]
    try:
        vectors = embedder.embed_batch(crops).vectors if crops else np.zeros((0, embedder.dim))
    except Exception as exc:  # the whole batch failed: each camera with views hears why
        for i, pending in prepared:
            results[i] = exc if pending else None
        prepared = [(i, pending) for i, pending in prepared if not pending]
        vectors = np.zeros((0, embedder.dim))
    at = 0
    for i, pending in prepared:
        analysis, frame = items[i]
        try:
            results[i] = analysis.decide(frame, pending, vectors[at : at + len(pending)])
        except Exception as exc:
            results[i] = exc
        at += len(pending)
    # Views were the only copies of a face's pixels outside its frame: drop them now.
    del crops, prepared
    return [r if r is not None else [] for r in results]


class _Request:
    __slots__ = ("analysis", "done", "frame", "result")

    def __init__(self, analysis: CameraAnalysis, frame: Frame) -> None:
        self.analysis, self.frame = analysis, frame
        self.done = threading.Event()
        self.result: Result = []


class InferenceStage:
    """Serves `analyse` calls from many camera threads with one thread and batched models.

    `attach`/`detach` say how many cameras may ask, so the stage stops lingering as soon as
    all of them have. Statistics (`batches`, `frames`) show how well batching worked."""

    def __init__(
        self, detector: Detector, embedder: Embedder, *, linger_s: float = LINGER_S
    ) -> None:
        self._detector, self._embedder, self._linger = detector, embedder, linger_s
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._cameras = 0
        self._closed = False
        self._thread: threading.Thread | None = None
        self.batches = 0
        self.frames = 0

    def start(self) -> InferenceStage:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="openlfr-inference", daemon=True
                )
                self._thread.start()
        return self

    def attach(self) -> None:
        with self._cond:
            self._cameras += 1

    def detach(self) -> None:
        with self._cond:
            self._cameras = max(0, self._cameras - 1)
            self._cond.notify_all()

    def analyse(self, analysis: CameraAnalysis, frame: Frame) -> list[Alert]:
        """The frame's alerts, once the stage has analysed it with the others waiting."""
        req = _Request(analysis, frame)
        with self._cond:
            if self._closed:
                raise RuntimeError("the inference stage is closed")
            self._queue.append(req)
            self._cond.notify_all()
        self.start()
        req.done.wait()
        if isinstance(req.result, BaseException):
            raise req.result
        return req.result

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                deadline = time.monotonic() + self._linger
                while len(self._queue) < self._cameras and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._queue = self._queue, []
            try:
                results = analyse_batch(
                    self._detector, self._embedder, [(r.analysis, r.frame) for r in batch]
                )
            except BaseException as exc:  # never leave a camera waiting forever
                results = [exc] * len(batch)
            self.batches += 1
            self.frames += len(batch)
            for req, result in zip(batch, results):
                req.result = result
                req.done.set()

    def close(self) -> None:
        """Ends the stage once the frames already waiting are analysed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(10.0)
