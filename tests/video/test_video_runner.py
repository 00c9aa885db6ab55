"""CameraRunner: bounded queues, drops on live sources, none on files, errors kept, stopping."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from video_support import KATIE, SELFIE, TSServer, clip

from openlfr.config import VideoSettings
from openlfr.video import CameraRunner, FileSource, StreamSource
from openlfr.vision.types import Frame

LIVE = VideoSettings(queue_frames=3, open_timeout_s=3, read_timeout_s=2, reconnect_initial_s=0.05)


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
    lags: list[float] = []
    indices: list[int] = []
    with runner:
        start = time.monotonic()
        for frame in runner:
            lags.append(time.time() - frame.timestamp)
            indices.append(frame.index)
            assert runner.stats.queued <= 3
            time.sleep(0.1)  # 10 fps of analysis against a 50 fps camera
            if time.monotonic() - start > 1.5:
                break
        stats = runner.stats
    assert stats.frames_dropped > 10
    assert stats.frames_read == stats.frames_dropped + stats.frames_delivered + stats.queued
    assert stats.fps_in > 10
    assert stats.health == "connected"
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    # Dropping the oldest keeps what is analysed fresh: never older than the queue's worth of
    # consumer periods (3 x 0.1 s) plus slack, however long the consumer lags.
    assert max(lags[3:]) < 0.6
    assert runner.stats.health == "ended"


def test_stop_from_another_thread_ends_iteration(ts_server: TSServer) -> None:
    runner = CameraRunner(StreamSource(ts_server.url, "cam-stop", LIVE), LIVE)
    timer = threading.Timer(0.8, runner.stop)
    timer.start()
    count = 0
    start = time.monotonic()
    for _ in runner:
        count += 1
    assert time.monotonic() - start < 3
    assert count > 0
    timer.join(5)  # stop() returns once the reader thread is gone
    assert not runner.running
    assert runner.stats.health == "ended"


class Exploding:
    """A source whose reader fails part-way, as a bug in a future backend might."""

    camera_id = "cam-bug"
    live = True

    def frames(self) -> Iterator[Frame]:
        for i in range(3):
            yield Frame(np.zeros((4, 4, 3), np.uint8), self.camera_id, i, float(i))
        raise RuntimeError("decoder exploded")

    def close(self) -> None:
        pass


def test_reader_exception_ends_iteration_and_is_kept() -> None:
    runner = CameraRunner(Exploding(), VideoSettings(queue_frames=8))
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
