"""The validated per-frame types that every stage passes along.

Shapes are checked once, at construction, so that a wrong array fails loudly where it was made
instead of deep inside a model call.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from openlfr.errors import FrameShapeError


def _check(name: str, arr: np.ndarray, shape: tuple[int | None, ...], dtype: type) -> None:
    if not isinstance(arr, np.ndarray):
        raise FrameShapeError(f"{name}: expected a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise FrameShapeError(f"{name}: expected dtype {np.dtype(dtype)}, got {arr.dtype}")
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise FrameShapeError(f"{name}: expected shape {want}, got {arr.shape}")


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture from one camera.

    `image` is BGR uint8 of shape (H, W, 3); `timestamp` is seconds (media time for a file,
    UTC epoch for a live source); `index` counts decoded frames from 0.
    """

    image: np.ndarray
    camera_id: str
    index: int
    timestamp: float

    def __post_init__(self) -> None:
        _check("Frame.image", self.image, (None, None, 3), np.uint8)
        if self.image.shape[0] < 1 or self.image.shape[1] < 1:
            raise FrameShapeError(
                f"Frame.image: expected a non-empty picture, got {self.image.shape}"
            )
        if self.index < 0:
            raise FrameShapeError(f"Frame.index: expected >= 0, got {self.index}")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


@dataclass(frozen=True, slots=True)
class FaceDetections:
    """The faces found in one frame, in that frame's pixel coordinates.

    boxes: (N, 4) float32 x1, y1, x2, y2; landmarks: (N, 5, 2) float32 (right eye, left eye,
    nose tip, right and left mouth corners, as YuNet orders them); scores: (N,) float32 in [0, 1].
    """

    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        _check("FaceDetections.boxes", self.boxes, (None, 4), np.float32)
        n = self.boxes.shape[0]
        _check("FaceDetections.landmarks", self.landmarks, (n, 5, 2), np.float32)
        _check("FaceDetections.scores", self.scores, (n,), np.float32)

    @classmethod
    def empty(cls) -> FaceDetections:
        return cls(
            np.zeros((0, 4), np.float32), np.zeros((0, 5, 2), np.float32), np.zeros(0, np.float32)
        )

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def take(self, index: np.ndarray) -> FaceDetections:
        """The detections at `index` (a boolean mask or integer indices)."""
        return FaceDetections(self.boxes[index], self.landmarks[index], self.scores[index])

    @property
    def sizes(self) -> np.ndarray:
        """The shorter side of each box in pixels, (N,) float32."""
        wh = self.boxes[:, 2:4] - self.boxes[:, 0:2]
        return np.minimum(wh[:, 0], wh[:, 1]).astype(np.float32)


@dataclass(frozen=True, slots=True)
class Embeddings:
    """L2-normalised face embeddings, (N, D) float32, with the model that made them."""

    vectors: np.ndarray
    model: str
    dim: int = field(init=False)

    def __post_init__(self) -> None:
        _check("Embeddings.vectors", self.vectors, (None, None), np.float32)
        object.__setattr__(self, "dim", int(self.vectors.shape[1]))
        norms = np.linalg.norm(self.vectors, axis=1)
        if self.vectors.shape[0] and not np.allclose(norms, 1.0, atol=1e-3):
            raise FrameShapeError("Embeddings.vectors: expected unit-length rows (L2-normalised)")

    def __len__(self) -> int:
        return int(self.vectors.shape[0])
