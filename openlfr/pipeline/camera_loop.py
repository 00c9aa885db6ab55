"""One camera's loop: source -> runner (bounded queue) -> shared inference stage -> AlertSink.

Whoever runs it (an engine, on a thread or in a Ray actor) gives it what it must not decide
itself: what to search and when to stop (`LoopControl`), where alerts go (`AlertSink`), and
where its counters are saved (`on_save`). Nothing in here knows of the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from openlfr.config import Settings
from openlfr.errors import StoreFull
from openlfr.matching.protocols import GalleryIndex
from openlfr.pipeline.alerts import AlertSink
from openlfr.pipeline.analysis import CameraAnalysis
from openlfr.pipeline.inference import InferenceStage
from openlfr.video.protocols import FrameSource
from openlfr.video.runner import CameraRunner
from openlfr.video.stamp import CaptureTimes

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # camera name, frames analysed, alerts so far


class LoopControl(Protocol):
    """What a camera searches and what stops it, shared by the cameras of one run."""

    def gallery(self) -> tuple[int, GalleryIndex]:
        """(version, gallery): a new version replaces the camera's search between frames."""
        ...

    def why_stop(self) -> str | None:
        """Why the camera must stop now ("authorised window ended", "stopped by <who>"), or
        None while it may go on."""
        ...

    def add_runner(self, runner: CameraRunner) -> None:
        """Registers the camera's runner, so that a stop ends its wait for a frame."""
        ...


@dataclass
class LoopCounters:
    """One camera's figures: analysed, skipped (beyond the analysis rate), dropped (analysis
    behind), and what analysis found. Numbers only (R8)."""

    frames: int = 0
    skipped: int = 0
    dropped: int = 0
    faces: int = 0
    tracks: int = 0
    embedded: int = 0
    alerts: int = 0
    reconnects: int = 0
    down_s: float = 0.0


class CameraLoop:
    def __init__(
        self,
        *,
        source: FrameSource,
        stage: InferenceStage,
        sink: AlertSink,
        settings: Settings,
        threshold: float,
        control: LoopControl,
        captured: CaptureTimes | None = None,
        on_save: Callable[[LoopCounters], None] | None = None,
        save_every_s: float = 2.0,
        progress: Progress | None = None,
    ) -> None:
        self.name = source.camera_id
        self._source, self._stage, self._sink = source, stage, sink
        self._s, self._threshold, self._control = settings, threshold, control
        self._captured = captured or CaptureTimes()
        self._on_save, self._save_every, self._progress = on_save, save_every_s, progress
        self._analysis: CameraAnalysis | None = None
        self._runner: CameraRunner | None = None

    @property
    def finished_tracks(self) -> dict[int, tuple[int, int]]:
        return self._analysis.finished_tracks if self._analysis else {}

    def counters(self) -> LoopCounters:
        out = LoopCounters()
        if self._analysis is not None:
            c = self._analysis.counters
            out.frames, out.faces, out.tracks = c.frames, c.faces, c.tracks
            out.embedded, out.alerts = c.embedded, c.alerts
        if self._runner is not None:
            st = self._runner.stats
            out.skipped, out.dropped, out.reconnects = (
                st.frames_skipped,
                st.frames_dropped,
                st.reconnects,
            )
            out.down_s = st.down_s
        return out

    def _tracking_fps(self) -> float:
        """The rate frames reach the tracker: the source's, thinned to the analysis rate."""
        fps = self._source.fps or 25.0
        paced = self._source.live or self._source.paced
        cap = self._s.video.analysis_fps
        return min(fps, cap) if paced and cap > 0 else fps

    def _save(self) -> None:
        if self._on_save is not None:
            self._on_save(self.counters())

    def run(self) -> str:
        """Runs until the source ends or a stop; returns why it ended. Never raises: an error
        or an alert the sink could not keep ends the camera with that as the reason."""
        reason = "source ended"
        # The runner reads through the stamp, so time spent in its queue counts as latency.
        runner = CameraRunner(self._captured.wrap(self._source), self._s.video).start()
        self._runner = runner
        self._control.add_runner(runner)
        self._stage.attach()
        try:
            version, gallery = self._control.gallery()
            last_save = time.monotonic()
            for frame in runner:
                why = self._control.why_stop()
                if why is not None:
                    reason = why
                    break
                if self._analysis is None:
                    self._analysis = CameraAnalysis(
                        gallery=gallery,
                        settings=self._s,
                        threshold=self._threshold,
                        fps=self._tracking_fps(),
                    )
                latest, gallery = self._control.gallery()
                if latest != version:  # withdrawn images left the search (R11)
                    version = latest
                    self._analysis.replace_gallery(gallery)
                alerts = self._stage.analyse(self._analysis, frame)
                # Counters are saved before an alert is stored: a run killed just after can
                # never publish an alert from a camera that saw no frames (issue 9, item 8).
                if alerts or time.monotonic() - last_save > self._save_every:
                    self._save()
                    last_save = time.monotonic()
                for alert in alerts:
                    self._sink.raise_alert(alert)
                if self._progress:
                    c = self._analysis.counters
                    self._progress(self.name, c.frames, c.alerts)
            else:
                why = self._control.why_stop()  # halted while waiting for a frame
                if why is not None:
                    reason = why
                else:
                    err = runner.error or self._source.error
                    if err:
                        reason = f"source failed: {err}"
        except StoreFull as exc:  # an alert or the counters could not be written: stop, loudly
            reason = str(exc)
            log.error("camera %s stopped: %s", self.name, reason)
        except Exception as exc:  # the run ends, but its counters must still be saved
            log.error("camera %s failed: %s", self.name, exc)
            reason = f"error: {exc}"
        finally:
            self._stage.detach()
            runner.stop()
            if self._analysis is not None:
                self._analysis.finish()
        return reason
