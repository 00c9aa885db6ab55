"""Live sources against a real RTSP server (GStreamer, Basic auth) on loopback, with faults:
the server killed and restarted 10 times, a stalled stream, corrupt packets, credentials."""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from rtsp_support import AUTH, RtspServer

from openlfr.config import VideoSettings
from openlfr.video import StreamSource
from openlfr.vision.types import Frame

PASSWORD = AUTH.split(":", 1)[1]
# Short time-outs and back-off so that ten outages fit in a few seconds each.
FAST = VideoSettings(
    open_timeout_s=3.0,
    read_timeout_s=1.0,
    reconnect_initial_s=0.05,
    reconnect_max_s=0.4,
)
DEADLINE_S = 30.0
_DELAY = re.compile(r"reconnecting in ([0-9.]+) s \(attempt (\d+)")


def wait_for(cond: Callable[[], bool], timeout: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached within {timeout} s")
        time.sleep(0.01)


class Events:
    """on_event calls from the decoding thread, with the monotonic time each arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, kind: str, message: str) -> None:
        with self._lock:
            self.items.append((time.monotonic(), kind, message))

    def count(self, kind: str) -> int:
        with self._lock:
            return sum(1 for _, k, _ in self.items if k == kind)

    def messages(self) -> list[str]:
        with self._lock:
            return [m for _, _, m in self.items]

    def delays(self) -> list[tuple[int, float]]:
        """(attempt, seconds) of every back-off announced."""
        found = (_DELAY.search(m) for m in self.messages())
        return [(int(m.group(2)), float(m.group(1))) for m in found if m]


class Reader:
    """Iterates a source on its own thread, as the runner does: frames with arrival times."""

    def __init__(self, source: StreamSource) -> None:
        self.source = source
        self.frames: list[Frame] = []
        self.arrivals: list[float] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source.frames():
                self.frames.append(frame)
                self.arrivals.append(time.monotonic())
        except Exception as exc:  # kept for stop(): a live source must never raise
            self.error = exc

    def first_frame_after(self, t: float) -> float:
        return next(a for a in list(self.arrivals) if a > t)

    def stop(self) -> None:
        self.source.close()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.error is None, f"the source raised in its reader: {self.error!r}"


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def reader_factory() -> Iterator[Callable[[StreamSource], Reader]]:
    readers: list[Reader] = []

    def make(source: StreamSource) -> Reader:
        readers.append(Reader(source))
        return readers[-1]

    yield make
    for r in readers:
        if r.thread.is_alive():
            r.stop()


def assert_counted_right(reader: Reader) -> None:
    """Frame numbers run on without gap or repeat across reconnections; stamps never go back."""
    indices = [f.index for f in reader.frames]
    assert indices == list(range(len(indices)))
    assert reader.source.frames_decoded == len(indices)
    stamps = [f.timestamp for f in reader.frames]
    assert stamps == sorted(stamps)


def test_rtsp_stream_gives_real_pictures_at_the_clip_rate(
    rtsp_server: RtspServer, events: Events, reader_factory: Callable[[StreamSource], Reader]
) -> None:
    source = StreamSource(rtsp_server.url(rtsp_server.clips[0]), "cam-rtsp", FAST, on_event=events)
    reader = reader_factory(source)
    wait_for(lambda: len(reader.frames) >= 75)
    first = reader.frames[0]
    assert first.image.shape == (512, 512, 3) and first.image.dtype == np.uint8
    assert reader.frames[40].image.std() > 10  # a real picture, not a grey concealment frame
    assert source.fps == pytest.approx(25, rel=0.05)
    # Paced by the server: after the initial burst, frames come at the clip's 25 fps.
    span = reader.arrivals[74] - reader.arrivals[50]
    assert 24 / 25 * 0.5 < span < 24 / 25 * 3
    assert source.health == "connected" and source.reconnects == 0
    reader.stop()
    assert_counted_right(reader)
    # Every picture is the clip's, not a smear: a key frame split across packets and decoded
    # as two pictures conceals half of it until the next key frame (error ~42 without
    # AV_CODEC_FLAG2_CHUNKS, ~3 with it: the server's re-encoding).
    errors = _errors_against_clip(reader.frames[:75], rtsp_server.clips[0], 110)
    assert float(np.max(errors)) < 15, errors


def _small(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)


def _errors_against_clip(frames: list[Frame], clip: Path, first: int) -> list[float]:
    """For each frame, the mean absolute pixel error to the closest of the clip's first
    `first` pictures (the stream may start a few pictures in)."""
    with av.open(str(clip)) as container:
        refs = np.stack(
            [
                _small(f.to_ndarray(format="bgr24"))
                for _, f in zip(range(first), container.decode(video=0))
            ]
        )
    return [float(np.abs(refs - _small(f.image)).mean(axis=(1, 2, 3)).min()) for f in frames]


def test_server_killed_and_restarted_ten_times(
    rtsp_server: RtspServer, events: Events, reader_factory: Callable[[StreamSource], Reader]
) -> None:
    source = StreamSource(rtsp_server.url(rtsp_server.clips[1]), "cam-kill", FAST, on_event=events)
    reader = reader_factory(source)
    outages: list[tuple[float, float, float]] = []  # (killed, back up, first frame again)
    for n in range(1, 11):
        wait_for(lambda w=10 * n: source.health == "connected" and len(reader.frames) >= w)
        retries_before = len(events.delays())
        rtsp_server.kill()
        killed = time.monotonic()
        wait_for(lambda: source.health == "reconnecting")
        # Down long enough for several refused reopens, each after a longer back-off.
        wait_for(lambda w=retries_before + 3: len(events.delays()) >= w)
        rtsp_server.start()
        back_up = time.monotonic()
        wait_for(lambda w=n: source.reconnects == w)
        wait_for(lambda t=back_up: len(reader.arrivals) > 0 and reader.arrivals[-1] > t)
        outages.append((killed, back_up, reader.first_frame_after(back_up)))
        delays = events.delays()[retries_before:]
        attempts = [a for a, _ in delays]
        # Each outage's back-off starts again at attempt 1 (the last connection delivered
        # pictures) and grows: doubling beats the +/-20 % jitter until the cap.
        assert attempts == list(range(1, len(attempts) + 1))
        seconds = [s for _, s in delays]
        assert seconds[0] <= FAST.reconnect_initial_s * 1.2 + 1e-9
        assert all(
            later > earlier or later >= FAST.reconnect_max_s * 0.8
            for earlier, later in itertools.pairwise(seconds)
        )
        assert max(seconds) <= FAST.reconnect_max_s + 1e-9
    reader.stop()
    assert source.reconnects == 10 and rtsp_server.starts == 11
    assert source.error is None
    assert_counted_right(reader)
    # No frame arrived between a disconnection being seen and the reconnection.
    gone = [t for t, k, _ in events.items if k == "disconnected"]
    back = [t for t, k, _ in events.items if k == "reconnected"]
    assert len(gone) == len(back) == 10
    for lost, found in zip(gone, back, strict=True):
        assert not any(lost < a < found for a in reader.arrivals)
    # The time the camera was down: from the kill to the first picture after the restart.
    down = sum(first - killed for killed, _, first in outages)
    assert down >= sum(up - killed for killed, up, _ in outages)
    assert 0 < down < 10 * DEADLINE_S
    # The source's own figure runs from each loss being seen to the first picture after it:
    # within the kill-to-first-frame span, and at least the time the server was really gone.
    assert sum(up - killed for killed, up, _ in outages) * 0.5 <= source.down_s <= down
    expected = sum(first - lost for lost, (_, _, first) in zip(gone, outages, strict=True))
    assert source.down_s == pytest.approx(expected, abs=0.05 * 10)


def test_stalled_stream_times_out_reconnects_and_counts_the_gap(
    rtsp_server: RtspServer, events: Events, reader_factory: Callable[[StreamSource], Reader]
) -> None:
    source = StreamSource(rtsp_server.url(rtsp_server.clips[0]), "cam-stall", FAST, on_event=events)
    reader = reader_factory(source)
    wait_for(lambda: len(reader.frames) >= 40)
    stall_s = 3.0
    rtsp_server.stall(stall_s)
    stalled_at = time.monotonic()
    wait_for(lambda: events.count("disconnected") >= 1)
    # Seen by the read time-out: the connection itself stays open while nothing comes.
    assert any("no data for 1 s (time-out)" in m for m in events.messages())
    wait_for(lambda: source.reconnects >= 1 and reader.arrivals[-1] > stalled_at + stall_s)
    # Nothing came through the stall (frames already in flight when it began may still land).
    after = [a for a in reader.arrivals if a > stalled_at]
    gaps = [(b - a, b) for a, b in itertools.pairwise(after)]
    longest, resumed = max(gaps)
    assert longest >= stall_s * 0.6
    assert resumed >= stalled_at + stall_s * 0.8
    frames_before = len(reader.frames)
    wait_for(lambda: len(reader.frames) >= frames_before + 25)
    reader.stop()
    assert source.error is None
    assert_counted_right(reader)


def test_corrupt_packets_do_not_end_the_camera(
    rtsp_server: RtspServer, events: Events, reader_factory: Callable[[StreamSource], Reader]
) -> None:
    source = StreamSource(
        rtsp_server.url(rtsp_server.clips[1]), "cam-corrupt", FAST, on_event=events
    )
    reader = reader_factory(source)
    wait_for(lambda: len(reader.frames) >= 30)
    rtsp_server.corrupt(50)  # two seconds of damaged pictures
    corrupted_at = time.monotonic()
    # The decoder conceals or drops damaged pictures, or the source reconnects; either way the
    # camera goes on, and clean pictures come again after the damage (key frame each second).
    wait_for(lambda: len(reader.arrivals) > 0 and reader.arrivals[-1] > corrupted_at + 4)
    frames_before = len(reader.frames)
    wait_for(lambda: len(reader.frames) >= frames_before + 25)
    assert reader.frames[-1].image.std() > 10
    reader.stop()
    assert source.error is None
    assert_counted_right(reader)


def test_credentials_in_a_camera_url_are_never_logged_or_shown(
    rtsp_server: RtspServer,
    events: Events,
    reader_factory: Callable[[StreamSource], Reader],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = rtsp_server.url(rtsp_server.clips[0])
    assert PASSWORD in url
    good = StreamSource(url, "cam-creds", FAST, on_event=events)
    wrong = StreamSource(url.replace(PASSWORD, PASSWORD + "x"), "cam-wrong", FAST, on_event=events)
    for source in (good, wrong):
        assert PASSWORD not in source.name and PASSWORD not in repr(source)
    reader, refused = reader_factory(good), reader_factory(wrong)
    wait_for(lambda: len(reader.frames) >= 10)  # the right password is let in
    rtsp_server.kill()  # failures of every kind now: refused, broken, unauthorised
    wait_for(lambda: good.health == "reconnecting")
    rtsp_server.start()
    wait_for(lambda: good.reconnects == 1)
    wait_for(lambda: events.count("open_failed") >= 3)
    assert refused.frames == []  # the wrong password is refused ...
    assert any("401" in m or "nauthori" in m for m in events.messages())  # ... and said so
    reader.stop()
    refused.stop()
    shown = events.messages() + [r.getMessage() for r in caplog.records]
    shown += [good.error or "", wrong.error or ""]
    assert len(shown) > 10
    assert not [m for m in shown if PASSWORD in m]
    assert any("***@127.0.0.1" in m for m in shown)
