"""The shared inference stage on real clips: cameras analysed together (one batched stage)
decide exactly as each analysed alone; a paced source skips beyond video.analysis_fps and a
slow analysis drops the oldest frames, every frame accounted for."""

from __future__ import annotations

import threading
import time

import av
import cv2
import numpy as np
import pytest
from video_support import KATIE, VIDEO, clip

from openlfr.config import Settings, VideoSettings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.alerts import Alert, ListSink
from openlfr.pipeline.camera_loop import CameraLoop
from openlfr.pipeline.inference import InferenceStage, worker_plan
from openlfr.pipeline.live import LivePipeline
from openlfr.video import CameraRunner, FileSource
from openlfr.vision.protocols import Detector, Embedder

RADIO = VIDEO / "RD_Radio34_000.mp4"
EDMARKEY = VIDEO / "WDA_EdMarkey0_000.mp4"  # never enrolled: its camera must stay silent
ENROLLED = (KATIE, RADIO)


def _gallery(models: tuple[Detector, Embedder]) -> NumpyGallery:
    detector, embedder = models
    vectors = []
    for path in ENROLLED:  # a reference from 7.5 s: the clips below are the same footage
        with av.open(str(clip(path))) as src:
            img = next(
                f.to_ndarray(format="bgr24")
                for f in src.decode(video=0)
                if f.time is not None and f.time >= 7.5
            )
        det = detector.detect(img)
        vectors.append(embedder.embed(img, det.landmarks[:1]).vectors[0])
    return NumpyGallery(np.stack(vectors).astype(np.float32), np.arange(len(ENROLLED)))


class _Control:
    def __init__(self, gallery: NumpyGallery) -> None:
        self._gallery = gallery

    def gallery(self) -> tuple[int, NumpyGallery]:
        return 0, self._gallery

    def why_stop(self) -> str | None:
        return None

    def add_runner(self, runner: CameraRunner) -> None:
        pass


def _key(a: Alert) -> tuple[str, int, int, int, int]:
    return (a.camera_id, a.track_id, a.label, a.first_frame, a.frame_index)


@pytest.mark.parametrize(
    ("cameras", "cpus", "configured", "plan"),
    [
        (1, 2, 0, (1, None)),  # one camera: OpenCV's pool is the only way onto a second core
        (1, 8, 4, (1, None)),  # ... whatever is configured
        (2, 2, 0, (2, 1)),  # several: a single-threaded worker per core
        (12, 2, 0, (2, 1)),
        (3, 16, 0, (3, 1)),  # never more workers than cameras
        (12, 2, 3, (3, 1)),  # configured beats the cores
        (12, 8, 1, (1, None)),  # one worker configured: OpenCV's pool as configured
        (4, 1, 0, (1, None)),  # one core: one worker
    ],
)
def test_worker_plan(
    cameras: int, cpus: int, configured: int, plan: tuple[int, int | None]
) -> None:
    assert worker_plan(cameras, cpus, configured) == plan


@pytest.mark.slow
def test_cameras_batched_together_decide_as_each_alone(models: tuple[Detector, Embedder]) -> None:
    settings = Settings()
    threshold = settings.matching.threshold
    gallery = _gallery(models)
    paths = {"cam-katie": KATIE, "cam-radio": RADIO, "cam-stranger": EDMARKEY}
    alone: dict[str, tuple[list[Alert], tuple[int, int, int, int]]] = {}
    for cam, path in paths.items():
        sink = ListSink()
        pipe = LivePipeline(
            detector=models[0], embedder=models[1], gallery=gallery, sink=sink,
            settings=settings, threshold=threshold,
        )  # fmt: skip
        for frame in FileSource(clip(path), cam).frames():
            pipe.process(frame)
        pc = pipe.finish()
        alone[cam] = (sink.alerts, (pc.frames, pc.faces, pc.tracks, pc.embedded))

    # Two single-threaded workers whatever the machine (the plan for several cameras): cameras
    # split between them must decide alike too.
    cv_before = cv2.getNumThreads()
    stage = InferenceStage(*models, workers=2, cv_threads=1).start()
    assert cv2.getNumThreads() == 1
    sinks = {cam: ListSink() for cam in paths}
    loops = {
        cam: CameraLoop(
            source=FileSource(clip(path), cam),
            stage=stage,
            sink=sinks[cam],
            settings=settings,
            threshold=threshold,
            control=_Control(gallery),
        )
        for cam, path in paths.items()
    }
    threads = [threading.Thread(target=loop.run) for loop in loops.values()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    stage.close()
    assert cv2.getNumThreads() == cv_before  # the next one-camera run gets OpenCV's pool back
    # Frames of different cameras really went through one forward pass together.
    assert stage.frames == 3 * 200 and stage.largest_batch > 1
    for cam, loop in loops.items():
        alerts, counts = alone[cam]
        c = loop.counters()
        assert (c.frames, c.faces, c.tracks, c.embedded) == counts, cam
        assert (c.skipped, c.dropped) == (0, 0)  # an unpaced file: every frame analysed
        assert [_key(a) for a in sinks[cam].alerts] == [_key(a) for a in alerts], cam
        for together, single in zip(sinks[cam].alerts, alerts, strict=True):
            assert together.score == pytest.approx(single.score, abs=1e-4)
    assert {a.label for a in sinks["cam-katie"].alerts} == {0}
    assert {a.label for a in sinks["cam-radio"].alerts} == {1}
    assert sinks["cam-stranger"].alerts == []


def test_paced_source_skips_beyond_the_analysis_rate_and_drops_oldest_when_behind() -> None:
    settings = VideoSettings(queue_frames=2, analysis_fps=10)
    runner = CameraRunner(FileSource(clip(KATIE), "cam-paced", realtime=True), settings)
    indices: list[int] = []
    with runner:
        for frame in runner:
            indices.append(frame.index)
            if len(indices) > 20:
                time.sleep(0.25)  # analysis at 4 fps from here: behind the 10 kept a second
    st = runner.stats
    assert st.frames_read == 200
    # Every frame accounted for: skipped, dropped or analysed.
    assert st.frames_skipped + st.frames_dropped + st.frames_delivered == st.frames_read
    # 25 fps thinned to 10: 3 of every 5 frames skipped, before the queue.
    assert st.frames_skipped == pytest.approx(120, abs=4)
    assert st.frames_dropped > 10 and st.frames_delivered == len(indices)
    assert indices == sorted(indices)
    # Oldest first: the last frames of the clip are delivered, gaps open only while behind.
    assert indices[-1] >= 195
    early = np.diff(indices[:20])
    assert early.max() <= 3  # keeping pace: only the analysis rate's gaps
    assert np.diff(indices[20:]).max() > 3  # behind: queued frames lost
