"""The shared inference stage: one detector and one embedder for every camera of a process.

Each camera's thread decodes its own frames and hands the frame it wants analysed to the stage,
then waits; the stage's thread takes every frame waiting (lingering a few milliseconds for the
cameras that have not yet asked), detects faces in each, lets each camera pick its views, and
embeds all of them in ONE batched forward pass before each camera decides. One model instance
instead of one per camera saves memory, and the batched forward costs less per face. While a
camera waits its reader keeps decoding into its bounded queue, which drops the oldest frame
(counted) when analysis falls behind a live feed.

Detection is most of the work and gains nothing from batching (benchmarks/cameras.py
--detect-batching). `workers` > 1 runs that many such threads, one batch each at a time, and
`cv_threads` sets OpenCV's own pool while the stage runs (1: the workers are the parallelism).
`worker_plan` chooses both from the number of cameras: with several, one single-threaded worker
per core, since OpenCV's pool parallelises a shrunk frame's small forward pass poorly and its
threads wait on each other (2 cores, 12 paced 720p cameras: 15.9 against 19.6 ms of CPU per
analysed frame); with one camera, one worker and OpenCV's pool, which is then the only way to
use the second core. The detector and embedder keep one model per thread, and a camera has at
most one frame in the stage, so no camera's state is ever used by two workers at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

import cv2
import numpy as np

from openlfr.machine import cores
from openlfr.pipeline.alerts import Alert
from openlfr.pipeline.analysis import CameraAnalysis, Pending
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

log = logging.getLogger(__name__)

#: How long the stage waits for the other cameras once one frame is waiting: a fraction of a
#: frame at 10 analysed fps, long enough for cameras freed by the last batch to ask again.
LINGER_S = 0.004

Result = list[Alert] | BaseException


def worker_plan(cameras: int, cpus: int, configured: int = 0) -> tuple[int, int | None]:
    """(workers, OpenCV threads or None to leave OpenCV's setting) for a stage serving
    `cameras` on `cpus` cores; `configured` is vision.inference_workers (0: automatic)."""
    if cameras <= 1:
        return 1, None
    workers = min(cameras, configured or max(1, cpus))
    return (workers, 1) if workers > 1 else (1, None)


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
            prepared.append(
                (i, analysis.prepare(frame, analysis.detect(detector, frame), detector.refine))
            )
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
    """Serves `analyse` calls from many camera threads with `workers` threads and batched
    models (workers beyond one start only as cameras attach), each calling OpenCV with
    `cv_threads` threads (None: as configured by vision.threads).

    `attach`/`detach` say how many cameras may ask, so the stage stops lingering as soon as
    all of them have. Statistics (`batches`, `frames`) show how well batching worked."""

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        *,
        linger_s: float = LINGER_S,
        workers: int = 1,
        cv_threads: int | None = None,
    ) -> None:
        self._detector, self._embedder, self._linger = detector, embedder, linger_s
        self.workers = max(1, int(workers))
        self._cv_threads = cv_threads  # None: leave OpenCV's setting as it is
        self._cv_before: int | None = None  # OpenCV's setting before this stage changed it
        self._cond = threading.Condition()
        self._queue: list[_Request] = []
        self._cameras = 0
        self._busy = 0  # cameras whose frame a worker is analysing now
        self._closed = False
        self._threads: list[threading.Thread] = []
        self.batches = 0
        self.frames = 0
        self.largest_batch = 0

    @classmethod
    def for_cameras(
        cls, detector: Detector, embedder: Embedder, cameras: int, configured: int = 0
    ) -> InferenceStage:
        """A stage planned for `cameras` on this machine's cores (`worker_plan`)."""
        workers, cv_threads = worker_plan(cameras, cores(), configured)
        return cls(detector, embedder, workers=workers, cv_threads=cv_threads)

    def start(self) -> InferenceStage:
        """Starts a worker; `attach` adds more, up to one per camera (a worker with no camera
        of its own to serve would only hold a second copy of the models)."""
        with self._cond:
            self._grow()
        return self

    def _grow(self) -> None:
        # Called with the lock held.
        if not self._threads and self._cv_threads is not None:
            # Process-wide: the stage's workers are this process's parallelism now, until
            # close() gives the next user (a one-camera run in the same server) its pool back.
            self._cv_before = cv2.getNumThreads()
            cv2.setNumThreads(self._cv_threads)
        while len(self._threads) < min(self.workers, max(1, self._cameras)):
            thread = threading.Thread(
                target=self._loop, name=f"openlfr-inference-{len(self._threads)}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def attach(self) -> None:
        with self._cond:
            self._cameras += 1
            if self._threads and not self._closed:
                self._grow()

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

    def _warm(self) -> None:
        """Loads this worker's own models now (they are per thread), not on a camera's first
        frame: the first alerts of a run would otherwise wait for it."""
        try:
            self._detector.detect(np.zeros((64, 64, 3), np.uint8))
            self._embedder.embed_batch([np.zeros((112, 112, 3), np.uint8)])
        except Exception as exc:  # a real frame will raise it again, to its camera
            log.warning("inference worker warm-up failed: %s", exc)

    def _loop(self) -> None:
        self._warm()
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                # With several workers each takes its share of the cameras, so that they
                # analyse side by side instead of one worker holding every camera's frame.
                share = max(1, -(-self._cameras // self.workers))
                # Cameras whose frame another worker holds cannot ask before it is done.
                want = min(share, self._cameras - self._busy)
                deadline = time.monotonic() + self._linger
                while len(self._queue) < want and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                if not self._queue:  # another worker took them while this one lingered
                    continue
                batch, self._queue = self._queue[:share], self._queue[share:]
                if self._queue:
                    self._cond.notify_all()  # the rest are another worker's
                self._busy += len(batch)
                self.batches += 1
                self.frames += len(batch)
                self.largest_batch = max(self.largest_batch, len(batch))
            try:
                results = analyse_batch(
                    self._detector, self._embedder, [(r.analysis, r.frame) for r in batch]
                )
            except BaseException as exc:  # never leave a camera waiting forever
                results = [exc] * len(batch)
            with self._cond:
                self._busy -= len(batch)
            for req, result in zip(batch, results):
                req.result = result
                req.done.set()

    def close(self) -> None:
        """Ends the stage once the frames already waiting are analysed."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(10.0)
        if self._cv_before is not None:
            cv2.setNumThreads(self._cv_before)
            self._cv_before = None
