"""How large a frame each detection needs: keyframes at full size, the rest shrunk to the faces.

Detection is most of a frame's cost and grows with its pixels, while a face 150 px tall is
found, and its landmarks placed, as well in a frame shrunk until it is 64 px tall (measured on
the talking-head clips: the genuine score of views aligned on shrunk-frame landmarks fell by
0.004 on average, no face lost; benchmarks/README.md). So one analysed frame in
`full_detect_every` is searched at the configured `detect_max_side`, which finds every face
that size allows; on the others the frame is shrunk as far as it can be while the smallest face
seen since the last keyframe stays `tracked_face_px` tall. Faces at least that small are still
found on every frame; a new face smaller than every face seen is found at the next keyframe,
at most `full_detect_every - 1` analysed frames late. A frame where faces were seen at the
hard floor (crowds, distant cameras) is never shrunk, so what such a camera finds is unchanged.

Per camera, used by one thread at a time (like CameraAnalysis, which owns it).
"""

from __future__ import annotations

import math

import numpy as np

from openlfr.config import VisionSettings

#: The smallest long side a frame is shrunk to when no face was seen since the last keyframe:
#: still finds a face filling a quarter of the frame on every frame, at ~1/16 of the cost.
MIN_SIDE = 160
#: Sides are rounded up to a multiple of this, so the detector's input size (and the network
#: shapes behind it) changes by steps, not on every frame.
STEP = 32


class DetectionScale:
    def __init__(self, vision: VisionSettings) -> None:
        self.full_side = vision.detect_max_side
        self.every = vision.full_detect_every
        self.face_px = vision.tracked_face_px
        self._count = 0  # frames sized so far: keyframes are 0, every, 2*every, ...
        self._smallest = math.inf  # shortest face side seen since the last keyframe, frame px
        self.keyframes = 0
        self.shrunk = 0  # frames detected below full size (a statistic for benchmarks)

    def side(self, image: np.ndarray) -> int:
        """The long side to detect this frame at (call once per analysed frame)."""
        index, self._count = self._count, self._count + 1
        long_side = max(image.shape[:2])
        full = min(self.full_side, long_side)
        if self.every <= 1 or index % self.every == 0:
            self._smallest = math.inf  # a keyframe sees every face afresh
            self.keyframes += 1
            return full
        if math.isinf(self._smallest):
            want = float(MIN_SIDE)
        else:
            want = long_side * self.face_px / max(self._smallest, 1.0)
        side = min(full, max(MIN_SIDE, math.ceil(want / STEP) * STEP))
        if side < full:
            self.shrunk += 1
        return side

    def observe(self, sizes: np.ndarray) -> None:
        """The face sizes (shorter box side, frame pixels) the frame's detection found."""
        if len(sizes):
            self._smallest = min(self._smallest, float(np.min(sizes)))
