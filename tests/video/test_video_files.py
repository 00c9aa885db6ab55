"""FileSource and open_source on real clips from the shared data folder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from video_support import BBT, KATIE, SELFIE, clip, wait_for

from openlfr.config import VideoSettings
from openlfr.errors import SourceError
from openlfr.video import DeviceSource, FileSource, FrameSource, StreamSource, open_source


def test_five_frames_with_media_time() -> None:
    source = FileSource(clip(BBT), "cam-1")
    assert isinstance(source, FrameSource)
    assert source.live is False
    frames = list(source.frames())
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.image.shape == (460, 820, 3) and f.image.dtype == np.uint8 for f in frames)
    assert all(f.camera_id == "cam-1" for f in frames)
    # Media time at 24000/1001 fps, starting at 0.
    assert [f.timestamp for f in frames] == pytest.approx([i * 1001 / 24000 for i in range(5)])
    assert source.error is None


def test_whole_clip_decoded() -> None:
    source = FileSource(str(clip(KATIE)), "cam-2")
    count = 0
    for frame in source.frames():
        assert frame.image.shape == (512, 512, 3)
        assert frame.image.flags["C_CONTIGUOUS"]
        count += 1
    assert count == 200
    assert source.frames_decoded == 200
    assert source.error is None
    assert source.health == "ended"


def test_images_are_bgr() -> None:
    # The first frame of the clip, read by OpenCV's own decoder from the same file, is BGR; ours
    # must match it channel for channel (a swapped RGB would not).
    import cv2

    ours = next(FileSource(clip(KATIE), "c").frames()).image.astype(np.int16)
    cap = cv2.VideoCapture(str(KATIE))
    ok, theirs = cap.read()
    cap.release()
    if not ok:
        pytest.skip("OpenCV cannot read the clip here")
    assert np.abs(ours - theirs.astype(np.int16)).mean() < 3
    assert np.abs(ours[..., ::-1] - theirs.astype(np.int16)).mean() > np.abs(ours - theirs).mean()


def test_realtime_pacing_follows_the_file_rate() -> None:
    source = FileSource(clip(KATIE), "cam-rt", realtime=True)
    start = time.monotonic()
    for frame in source.frames():
        if frame.index == 12:
            break
    elapsed = time.monotonic() - start
    source.close()
    # 12 intervals at 25 fps = 0.48 s; an unpaced decode takes a few milliseconds. (Only the
    # lower bound: a loaded machine makes it later, never earlier.)
    assert elapsed >= 0.45


def test_close_stops_a_paced_file_promptly() -> None:
    source = FileSource(clip(KATIE), "cam-rt", realtime=True)
    got: list[int] = []
    thread = threading.Thread(target=lambda: got.extend(f.index for f in source.frames()))
    thread.start()
    wait_for(lambda: len(got) >= 3)
    source.close()
    # The clip has about 8 s left to play: a join that ends well before that was cut short.
    thread.join(5.0)
    assert not thread.is_alive()
    assert 3 <= len(got) < 200


def test_missing_file_is_named() -> None:
    missing = Path("/nonexistent/dir/camera7.mp4")
    with pytest.raises(SourceError) as info:
        FileSource(missing, "cam-x")
    message = str(info.value)
    assert "camera7.mp4" in message and "\n" not in message


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a regular file"):
        FileSource(tmp_path, "cam-x")


@pytest.mark.parametrize(
    "content",
    [b"this is a shopping list, not a film\n" * 20, bytes(range(256)) * 64, b""],
    ids=["text", "binary", "empty"],
)
def test_non_video_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.mp4"
    path.write_bytes(content)
    with pytest.raises(SourceError) as info:
        FileSource(path, "cam-x")
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_truncated_file_ends_cleanly_with_error(tmp_path: Path) -> None:
    data = clip(SELFIE).read_bytes()  # index (moov) first, so half a file still opens
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    source = FileSource(path, "cam-t")
    frames = list(source.frames())  # must not raise
    assert 0 < len(frames) < 138
    assert source.frames_decoded == len(frames)
    assert frames[-1].image.shape == (1920, 1080, 3)
    assert source.error is not None and "half.mp4" in source.error


def test_truncated_file_without_its_index_cannot_be_opened(tmp_path: Path) -> None:
    data = clip(KATIE).read_bytes()  # index (moov) at the end: half a file has none
    path = tmp_path / "half.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"half\.mp4"):
        FileSource(path, "cam-t")


def test_open_source_chooses_by_spec() -> None:
    settings = VideoSettings(realtime=True)
    for url in ("rtsp://10.0.0.5/stream1", "RTSPS://cam/x", "http://cam/mjpg", "https://x/a.m3u8"):
        source = open_source(url, "c", settings)
        assert isinstance(source, StreamSource) and source.live and source.target == url
    dev = open_source("/dev/video2", "c", settings)
    assert isinstance(dev, DeviceSource) and dev.target == "/dev/video2"
    dev = open_source("device:1", "c", settings)
    assert isinstance(dev, DeviceSource) and dev.target == "/dev/video1"
    path = str(clip(BBT))
    file_source = open_source(path, "c", settings)
    assert isinstance(file_source, FileSource) and file_source.realtime is True
    file_source.close()
    paced_off = open_source(path, "c", VideoSettings())
    assert isinstance(paced_off, FileSource) and paced_off.realtime is False
    paced_off.close()
    with pytest.raises(SourceError, match=r"missing\.mp4"):
        open_source("/nowhere/missing.mp4", "c", settings)
    with pytest.raises(SourceError, match="unsupported"):
        open_source("ftp://host/file.mp4", "c", settings)
