"""CameraRunner: bounded queues, drops on live sources, none on files, errors kept, stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from video_support import KATIE, SELFIE, TSServer, clip, finish_within, wait_for

from openlfr.config import VideoSettings
from openlfr.video import CameraRunner, FileSource, StreamSource
from openlfr.vision.types import Frame

# Every frame kept (analysis_fps=0): these tests are about the queue, not the analysis rate.
LIVE = VideoSettings(
    queue_frames=3, open_timeout_s=3, read_timeout_s=2, reconnect_initial_s=0.05, analysis_fps=0
)


def test_file_is_delivered_in_full_to_a_slow_consumer() -> None:
    settings = VideoSettings(queue_frames=2)
    runner = CameraRunner(FileSource(clip(KATIE), "cam-f"), settings)
    indices: list[int] = []
    max_queued = 0
    with runner:
        for frame in runner:
            indices.append(frame.index)
            max_queued = max(max_queued, runner.stats.queued)
            if frame.index < 20:
                time.sleep(0.005)  # slower than decoding for a while: the reader must wait
    assert indices == list(range(200))
    stats = runner.stats
    assert (stats.frames_read, stats.frames_delivered, stats.frames_dropped) == (200, 200, 0)
    assert max_queued <= 2
    assert stats.health == "ended" and stats.last_error is None
    assert runner.error is None


def test_file_may_drop_when_told() -> None:
    runner = CameraRunner(
        FileSource(clip(KATIE), "cam-f"), VideoSettings(queue_frames=2), drop_when_behind=True
    )
    delivered = 0
    with runner:
        for _ in runner:
            delivered += 1
            time.sleep(0.01)
    stats = runner.stats
    assert stats.frames_read == 200
    assert stats.frames_dropped > 0
    assert stats.frames_delivered == delivered == 200 - stats.frames_dropped


def test_slow_consumer_on_a_live_stream_drops_oldest(ts_server: TSServer) -> None:
    runner = CameraRunner(StreamSource(ts_server.url, "cam-live", LIVE), LIVE)
    indices: list[int] = []
    read_before = 0
    with runner:
        for frame in runner:
            # Dropping the oldest keeps what is analysed fresh: the frame handed over is among
            # the newest queue_frames (+1 in the reader's hand) read before we asked, however
            # far behind the consumer fell. Counted in frames, so load cannot make it flaky.
            assert frame.index >= read_before - (LIVE.queue_frames + 1), (frame.index, read_before)
            indices.append(frame.index)
            assert runner.stats.queued <= LIVE.queue_frames
            if len(indices) == 10:
                break
            # A slow consumer: let the camera get further ahead than the queue holds.
            target = runner.stats.frames_read + LIVE.queue_frames + 2
            wait_for(lambda t=target: runner.stats.frames_read >= t)
            read_before = runner.stats.frames_read
        stats = runner.stats
    assert stats.frames_dropped >= 9 * 2  # each wait overflowed the queue by two at least
    assert stats.frames_read == stats.frames_dropped + stats.frames_delivered + stats.queued
    assert stats.fps_in > 0
    assert stats.health == "connected"
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert runner.stats.health == "ended"


def test_stop_from_another_thread_ends_iteration(ts_server: TSServer) -> None:
    runner = CameraRunner(StreamSource(ts_server.url, "cam-stop", LIVE), LIVE)
    timer = threading.Timer(0.8, runner.stop)
    timer.start()
    # Without stop() this would read the looping stream for ever; with it, iteration ends.
    count = finish_within(lambda: sum(1 for _ in runner))
    assert count > 0
    timer.join(60)  # stop() returns once the reader thread is gone
    assert not runner.running
    assert runner.stats.health == "ended"


class Exploding:
    """A source whose reader fails part-way, as a bug in a future backend might."""

    camera_id = "cam-bug"
    live = True
    paced = True
    fps: float | None = 25.0
    health = "connected"
    error: str | None = None
    reconnects = 0
    down_s = 0.0

    def skip_nonref(self, on: bool) -> None:
        pass

    def frames(self) -> Iterator[Frame]:
        for i in range(3):
            yield Frame(np.zeros((4, 4, 3), np.uint8), self.camera_id, i, float(i))
        raise RuntimeError("decoder exploded")

    def close(self) -> None:
        pass


def test_reader_exception_ends_iteration_and_is_kept() -> None:
    runner = CameraRunner(Exploding(), VideoSettings(queue_frames=8, analysis_fps=0))
    with runner:
        got = [f.index for f in runner]
    assert got == [0, 1, 2]
    assert isinstance(runner.error, RuntimeError)
    assert runner.stats.last_error == "RuntimeError: decoder exploded"
    assert runner.stats.health == "ended"


def test_truncated_file_error_reaches_stats(tmp_path: Path) -> None:
    data = clip(SELFIE).read_bytes()
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    runner = CameraRunner(FileSource(path, "cam-b"), VideoSettings())
    with runner:
        delivered = sum(1 for _ in runner)
    stats = runner.stats
    assert 0 < delivered == stats.frames_delivered == stats.frames_read < 138
    assert stats.last_error is not None and "half.mp4" in stats.last_error
    assert runner.error is None  # the source coped; the runner saw no exception
