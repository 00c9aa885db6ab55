"""Five-point alignment to the 112x112 template that SFace (and ArcFace-family models) expect."""

from __future__ import annotations

import cv2
import numpy as np

from openlfr.errors import FrameShapeError

# Where the eyes, nose tip and mouth corners sit in a 112x112 aligned face (ArcFace template,
# which SFace was trained on): aligning to it is what makes two crops comparable.
TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float32,
)


def similarity_transform(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """The 2x3 similarity transform that maps 5 landmarks onto the template scaled to `size`."""
    if landmarks.shape != (5, 2):
        raise FrameShapeError(f"landmarks: expected shape (5, 2), got {landmarks.shape}")
    dst = TEMPLATE_112 * (size / 112.0)
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), dst, method=cv2.LMEDS)
    if matrix is None:  # degenerate landmarks (all on one point)
        raise FrameShapeError("landmarks: degenerate, no similarity transform exists")
    return matrix.astype(np.float32)


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """The aligned size x size BGR crop of the face whose landmarks are given."""
    matrix = similarity_transform(landmarks, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
