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


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2x3 least-squares similarity (rotation, uniform scale, shift) taking the points
    `src` onto `dst` (Umeyama's closed form). Least squares over all five points, as the
    ArcFace reference alignment does: the robust fit used before (cv2.LMEDS) rests on the best
    two-point subset, so one landmark's jitter moved the whole crop, and LFW 1:N TPIR at FPIR
    0.1% was 0.1-0.4 points lower with it (benchmarks/accuracy.py, landmark table)."""
    s, d = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    if s.shape != d.shape or s.ndim != 2 or s.shape[1] != 2 or len(s) < 2:
        raise FrameShapeError(f"landmarks: expected two (N, 2) arrays, got {s.shape}, {d.shape}")
    mu_s, mu_d = s.mean(axis=0), d.mean(axis=0)
    s0, d0 = s - mu_s, d - mu_d
    spread = float((s0**2).sum()) / len(s)
    if not np.isfinite(spread) or spread < 1e-9:
        raise FrameShapeError("landmarks: degenerate, no similarity transform exists")
    u, sv, vt = np.linalg.svd(d0.T @ s0 / len(s))
    flip = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a similarity
        flip[1, 1] = -1.0
    rotation = u @ flip @ vt
    scale = float(np.trace(np.diag(sv) @ flip)) / spread
    shift = mu_d - scale * rotation @ mu_s
    return np.hstack([scale * rotation, shift[:, None]]).astype(np.float32)


def similarity_transform(landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """The 2x3 similarity transform that maps 5 landmarks onto the template scaled to `size`."""
    if landmarks.shape != (5, 2):
        raise FrameShapeError(f"landmarks: expected shape (5, 2), got {landmarks.shape}")
    return similarity_matrix(landmarks, TEMPLATE_112 * (size / 112.0))


def align_face(image: np.ndarray, landmarks: np.ndarray, size: int = 112) -> np.ndarray:
    """The aligned size x size BGR crop of the face whose landmarks are given."""
    matrix = similarity_transform(landmarks, size)
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR)
