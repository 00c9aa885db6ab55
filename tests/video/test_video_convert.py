"""Only the frames that will be analysed are converted to BGR: those skipped by the analysis
rate or dropped from a full queue stay in the decoder's format (the conversion is a real share
of a camera's CPU), and the converted frames are the pixels a plain conversion gives."""

from __future__ import annotations

import time
from collections.abc import Iterator

import av
import numpy as np
from video_support import KATIE, clip

from openlfr.config import VideoSettings
from openlfr.video import CameraRunner, FileSource
from openlfr.video.protocols import DecodedFrame
from openlfr.vision.types import Frame


class _Counting:
    """A real FileSource whose pictures count their conversions."""

    def __init__(self, source: FileSource) -> None:
        self.inner = source
        self.converted: list[int] = []
        self.camera_id, self.live, self.paced = source.camera_id, source.live, source.paced
        self.fps, self.health, self.error = source.fps, source.health, source.error
        self.reconnects, self.down_s = 0, 0.0

    def frames(self) -> Iterator[Frame]:
        raise AssertionError("the runner must read pictures, not converted frames")

    def decoded(self) -> Iterator[DecodedFrame]:
        for picture in self.inner.decoded():
            yield _Tell(picture, self.converted)

    def skip_nonref(self, on: bool) -> None:
        self.inner.skip_nonref(on)

    def close(self) -> None:
        self.inner.close()


class _Tell:
    def __init__(self, picture: DecodedFrame, log: list[int]) -> None:
        self.picture, self.log = picture, log
        self.camera_id, self.index, self.timestamp = (
            picture.camera_id,
            picture.index,
            picture.timestamp,
        )

    def to_frame(self) -> Frame:
        self.log.append(self.index)
        return self.picture.to_frame()


def test_paced_runner_converts_only_what_it_delivers() -> None:
    settings = VideoSettings(queue_frames=2, analysis_fps=10)
    source = _Counting(FileSource(clip(KATIE), "cam-c", realtime=True))
    runner = CameraRunner(source, settings)
    delivered: list[int] = []
    with runner:
        for frame in runner:
            delivered.append(frame.index)
            if len(delivered) > 20:
                time.sleep(0.25)  # behind: the queue drops
    st = runner.stats
    assert st.frames_read == 200
    assert st.frames_skipped > 0 and st.frames_dropped > 0
    assert st.frames_skipped + st.frames_dropped + st.frames_delivered == st.frames_read
    # Converted: exactly the delivered frames, none of the skipped or dropped ones.
    assert source.converted == delivered
    assert len(source.converted) == st.frames_delivered < st.frames_read - st.frames_skipped


def test_converted_frames_are_the_plain_conversion_and_frames_still_work() -> None:
    with av.open(str(clip(KATIE))) as c:
        plain = [f.to_ndarray(format="bgr24") for _, f in zip(range(5), c.decode(video=0))]
    source = FileSource(clip(KATIE), "cam-p")
    ours = [frame for _, frame in zip(range(5), source.frames())]
    source.close()
    assert [f.index for f in ours] == list(range(5))
    for frame, ref in zip(ours, plain, strict=True):
        assert frame.image.flags["C_CONTIGUOUS"]
        assert np.array_equal(frame.image, ref)
