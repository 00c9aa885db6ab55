"""Live sources against a real HTTP MPEG-TS stream on loopback, and against nothing at all."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from video_support import TSServer, finish_within, wait_for

from openlfr.config import VideoSettings
from openlfr.video import DeviceSource, StreamSource
from openlfr.video.live import LiveSource, backoff_delay
from openlfr.vision.types import Frame

FAST = VideoSettings(
    open_timeout_s=3.0,
    read_timeout_s=2.0,
    reconnect_initial_s=0.05,
    reconnect_max_s=0.2,
)


class Events:
    """Collects on_event calls from the decoding thread."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, kind: str, message: str) -> None:
        with self._lock:
            self.items.append((kind, message))

    def kinds(self) -> list[str]:
        with self._lock:
            return [k for k, _ in self.items]

    def count(self, kind: str) -> int:
        return self.kinds().count(kind)


class Reader:
    """Iterates a source on its own thread, as the runner does, keeping what it got."""

    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self.frames: list[Frame] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            for frame in self.source.frames():
                self.frames.append(frame)
        except Exception as exc:  # kept for stop() to report: a live source must never raise
            self.error = exc

    def stop(self) -> None:
        self.source.close()
        self.thread.join(60)
        assert not self.thread.is_alive()
        assert self.error is None, f"the source raised in its reader: {self.error!r}"


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def reader_factory() -> Iterator[Callable[[LiveSource], Reader]]:
    readers: list[Reader] = []

    def make(source: LiveSource) -> Reader:
        readers.append(Reader(source))
        return readers[-1]

    yield make
    for r in readers:
        r.stop()


def test_stream_source_reads_frames(ts_server: TSServer, events: Events) -> None:
    source = StreamSource(ts_server.url, "cam-http", FAST, on_event=events)
    assert source.live is True
    got: list[Frame] = []
    before = time.time()
    for frame in source.frames():
        got.append(frame)
        if len(got) == 20:
            break
    source.close()
    assert [f.index for f in got] == list(range(20))
    assert all(f.image.shape == (512, 512, 3) and f.image.dtype == np.uint8 for f in got)
    assert all(f.camera_id == "cam-http" for f in got)
    # Live frames carry the wall-clock time of decoding, in UTC epoch seconds.
    stamps = [f.timestamp for f in got]
    assert stamps == sorted(stamps)
    assert before - 1 <= stamps[0] <= time.time() + 1
    assert got[10].image.mean() > 5  # real pictures, not grey frames
    assert events.kinds()[0] == "connected"
    assert source.health == "ended"


def test_stream_dies_then_reconnects(
    ts_server: TSServer, events: Events, reader_factory: Callable[[LiveSource], Reader]
) -> None:
    source = StreamSource(ts_server.url, "cam-re", FAST, on_event=events)
    reader = reader_factory(source)
    wait_for(lambda: len(reader.frames) >= 10)
    assert source.health == "connected"

    ts_server.stop()
    wait_for(lambda: events.count("disconnected") >= 1)
    # With the port closed every reopen is refused; each is reported and followed by a back-off.
    wait_for(lambda: events.count("open_failed") >= 2)
    assert source.health == "reconnecting"
    assert events.count("retrying") >= 2
    frames_while_down = len(reader.frames)

    ts_server.start()  # same port: the camera is back
    wait_for(lambda: events.count("reconnected") == 1)
    wait_for(lambda: len(reader.frames) >= frames_while_down + 10)
    assert source.reconnects == 1
    assert source.error is None
    indices = [f.index for f in reader.frames]
    assert indices == list(range(len(indices)))  # counting carries on across the reconnection
    reader.stop()
    assert reader.error is None
    assert source.health == "ended"


def test_silent_stream_times_out_and_reconnects(
    ts_server: TSServer, events: Events, reader_factory: Callable[[LiveSource], Reader]
) -> None:
    settings = FAST.model_copy(update={"read_timeout_s": 0.5})
    source = StreamSource(ts_server.url, "cam-hung", settings, on_event=events)
    reader = reader_factory(source)
    wait_for(lambda: len(reader.frames) >= 10)
    ts_server.silent.set()
    went_silent = time.monotonic()
    wait_for(lambda: events.count("disconnected") >= 1)
    # Detected by the read time-out, not by the socket closing (it never closes): not before
    # the time-out (less the data already in flight), and said so.
    assert time.monotonic() - went_silent >= 0.3
    assert any("no data for 0.5 s" in m for k, m in events.items if k == "disconnected")
    ts_server.silent.clear()
    wait_for(lambda: events.count("reconnected") >= 1)
    wait_for(lambda: source.health == "connected")
    assert ts_server.connections >= 2


def test_nothing_listening_gives_up_after_attempts(dead_url: str, events: Events) -> None:
    settings = FAST.model_copy(update={"reconnect_attempts": 3})
    source = StreamSource(dead_url, "cam-dead", settings, on_event=events)
    assert finish_within(lambda: list(source.frames())) == []
    kinds = events.kinds()
    assert kinds.count("open_failed") == 4  # the first try and 3 reconnections
    assert kinds.count("retrying") == 3
    assert kinds[-1] == "gave_up"
    assert source.error is not None
    assert "127.0.0.1" in source.error and "gave up after 3" in source.error
    assert "\n" not in source.error
    assert source.health == "ended"


def test_server_that_never_answers_times_out(events: Events) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # connections complete in the backlog and then hear nothing
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/live.ts"
        settings = FAST.model_copy(update={"open_timeout_s": 0.5, "reconnect_attempts": 1})
        source = StreamSource(url, "cam-mute", settings, on_event=events)
        start = time.monotonic()
        assert finish_within(lambda: list(source.frames())) == []
        elapsed = time.monotonic() - start
    assert elapsed >= 0.9  # two opens that each waited out their 0.5 s time-out
    assert events.count("open_failed") == 2
    assert source.error is not None and "gave up" in source.error
    assert "no answer for 0.5 s" in source.error


def test_close_interrupts_back_off(dead_url: str, events: Events) -> None:
    settings = FAST.model_copy(update={"reconnect_initial_s": 30.0, "reconnect_max_s": 60.0})
    source = StreamSource(dead_url, "cam-wait", settings, on_event=events)
    reader = Reader(source)
    wait_for(lambda: events.count("retrying") == 1)
    start = time.monotonic()
    reader.stop()  # joins the thread; fails if the reader raised
    # The back-off is at least 24 s (30 s less jitter): ending well before it means close()
    # cut it short, with room for a loaded machine.
    assert time.monotonic() - start < 15
    assert source.error is None  # stopped on request, did not give up


def test_credentials_never_reported(dead_url: str, events: Events) -> None:
    url = dead_url.replace("http://", "http://admin:s3cret@")
    settings = FAST.model_copy(update={"reconnect_attempts": 1})
    source = StreamSource(url, "cam-secret", settings, on_event=events)
    assert list(source.frames()) == []
    assert source.error is not None and "s3cret" not in source.error
    assert all("s3cret" not in message for _, message in events.items)
    assert "s3cret" not in repr(source)


def test_rtsp_is_forced_onto_tcp() -> None:
    source = StreamSource("rtsp://127.0.0.1:1/cam", "cam-rtsp", FAST)
    assert source.options["rtsp_transport"] == "tcp"
    assert "rtsp_transport" not in StreamSource("http://127.0.0.1:1/x", "h", FAST).options


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="v4l2 is Linux's camera API")
def test_missing_device_retries_then_gives_up(events: Events) -> None:
    settings = FAST.model_copy(update={"reconnect_attempts": 1})
    source = DeviceSource("/dev/video97", "cam-usb", settings, on_event=events)
    assert source.live is True and source.format == "v4l2"
    assert list(source.frames()) == []
    assert events.kinds() == ["open_failed", "retrying", "open_failed", "gave_up"]
    assert source.error is not None and "/dev/video97" in source.error


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    delays = [backoff_delay(n, 1.0, 30.0) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        base = min(30.0, 2.0 ** (n - 1))
        assert 0.8 * base <= d <= min(30.0, 1.2 * base)
    assert delays[-1] <= 30.0
    assert len({backoff_delay(3, 1.0, 30.0) for _ in range(20)}) > 1  # jittered
    assert backoff_delay(10_000, 1.0, 30.0) <= 30.0  # no overflow on long outages
