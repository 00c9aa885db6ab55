"""The per-frame types refuse wrong shapes at construction, saying what was expected."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.errors import FrameShapeError
from openlfr.vision.types import Embeddings, FaceDetections, Frame


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((4, 4), np.uint8), "expected shape (N, N, 3), got (4, 4)"),
        (np.zeros((4, 4, 4), np.uint8), "expected shape (N, N, 3), got (4, 4, 4)"),
        (np.zeros((4, 4, 3), np.float32), "expected dtype uint8, got float32"),
        (np.zeros((0, 4, 3), np.uint8), "non-empty"),
        ([[1, 2, 3]], "expected a numpy array"),
    ],
)
def test_frame_rejects_bad_images(image: object, message: str) -> None:
    with pytest.raises(FrameShapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Frame(image, "cam", 0, 0.0)  # type: ignore[arg-type]


def test_frame_accepts_bgr_and_reports_size() -> None:
    f = Frame(np.zeros((36, 64, 3), np.uint8), "cam", 3, 1.5)
    assert (f.width, f.height) == (64, 36)


@pytest.mark.parametrize(
    ("boxes", "landmarks", "scores", "field"),
    [
        ((2, 4), (2, 5, 2), (3,), "scores"),
        ((2, 4), (1, 5, 2), (2,), "landmarks"),
        ((2, 5), (2, 5, 2), (2,), "boxes"),
        ((2, 4), (2, 4, 2), (2,), "landmarks"),
    ],
)
def test_detections_check_consistent_shapes(
    boxes: tuple[int, ...], landmarks: tuple[int, ...], scores: tuple[int, ...], field: str
) -> None:
    with pytest.raises(FrameShapeError, match=f"FaceDetections.{field}"):
        FaceDetections(
            np.zeros(boxes, np.float32),
            np.zeros(landmarks, np.float32),
            np.zeros(scores, np.float32),
        )


def test_detections_take_and_sizes() -> None:
    boxes = np.array([[0, 0, 10, 20], [5, 5, 45, 25]], np.float32)
    d = FaceDetections(boxes, np.zeros((2, 5, 2), np.float32), np.array([0.9, 0.5], np.float32))
    assert d.sizes.tolist() == [10.0, 20.0]
    one = d.take(np.array([1]))
    assert len(one) == 1 and one.scores[0] == np.float32(0.5)
    assert len(FaceDetections.empty()) == 0


def test_embeddings_must_be_unit_length() -> None:
    with pytest.raises(FrameShapeError, match="unit-length"):
        Embeddings(np.ones((2, 4), np.float32), "m")
    e = Embeddings(np.eye(3, dtype=np.float32), "m")
    assert (len(e), e.dim) == (3, 3)
