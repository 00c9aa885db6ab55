"""One camera analysed frame by frame in the caller's thread (evaluation, tests, one clip).

The same steps as the shared inference stage (`pipeline.inference.analyse_batch`) with a batch
of one camera, so a camera analysed alone and one analysed beside others decide alike.
"""

from __future__ import annotations

from openlfr.config import Settings
from openlfr.matching.protocols import GalleryIndex
from openlfr.pipeline.alerts import Alert, AlertSink
from openlfr.pipeline.analysis import CameraAnalysis, PipelineCounters, context_crop
from openlfr.pipeline.inference import analyse_batch
from openlfr.tracking import Tracker
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.types import Frame

__all__ = ["LivePipeline", "PipelineCounters", "context_crop"]


class LivePipeline:
    def __init__(
        self,
        *,
        detector: Detector,
        embedder: Embedder,
        gallery: GalleryIndex,
        sink: AlertSink,
        settings: Settings,
        threshold: float,
        fps: float = 25.0,
        tracker: Tracker | None = None,
    ) -> None:
        self._detector, self._embedder, self._sink = detector, embedder, sink
        self.analysis = CameraAnalysis(
            gallery=gallery, settings=settings, threshold=threshold, fps=fps, tracker=tracker
        )

    @property
    def counters(self) -> PipelineCounters:
        return self.analysis.counters

    @property
    def finished_tracks(self) -> dict[int, tuple[int, int]]:
        return self.analysis.finished_tracks

    @property
    def threshold(self) -> float:
        return self.analysis.threshold

    def replace_gallery(self, gallery: GalleryIndex) -> None:
        self.analysis.replace_gallery(gallery)

    def process(self, frame: Frame) -> list[Alert]:
        [result] = analyse_batch(self._detector, self._embedder, [(self.analysis, frame)])
        if isinstance(result, BaseException):
            raise result
        for alert in result:
            self._sink.raise_alert(alert)
        return result

    def finish(self) -> PipelineCounters:
        return self.analysis.finish()
