"""Landmarks found again in a close-up of each face and in its mirror image, then averaged.

The five points the alignment rests on jitter by a pixel or two from one detection to the next
(YuNet places them from a coarse feature map), and they carry a left/right bias: the points
found on a mirrored picture, mirrored back, are not where they were on the original. An
embedding moves with every pixel of misalignment. Detecting again in a close-up (the face
REFINE_FACE_PX across) and in the mirror of that close-up, and averaging the three sets of
points, cancels most of the jitter and the bias. Measured on LFW 1:N (benchmarks/accuracy.py;
SFace, cohort z-norm, TPIR at FPIR 0.1%, least-squares alignment either way): 89.7% -> 92.5% on
the TUNE half of the dev identities where the variant was chosen, 92.8% -> 94.9% on REPORT, for
two small extra detections per embedded face. Variants measured on TUNE (at 128 px) and not
kept: the mirrored close-up alone (-0.7 points) or at native scale (-1.4), that with flip TTA
(-0.2), the mirrored full picture (a tie, for a full-size detection more).

A re-found point set far from the original (another face in the close-up, a detector slip) is
ignored, so refinement can only nudge the points, never move them to another face.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from openlfr.vision.types import FaceDetections

#: The face box's longer side in the close-up, in pixels: small faces are enlarged to it, large
#: ones shrunk; so YuNet sees every face at one scale. Chosen on TUNE (TPIR at FPIR 0.1%,
#: z-norm) among 64 / 80 / 96 / 112 / 128 px: 90.8 / 91.4 / 92.5 / 91.7 / 91.9%. The spread
#: is mostly noise (a point is ~8 searches); 96 px is the best and the second cheapest.
REFINE_FACE_PX = 96.0
#: The close-up extends this fraction of the box's side beyond each edge: YuNet needs context
#: around a face to find it at all.
MARGIN = 0.5
#: A re-found point set is used only if no point is further than this from the original, in
#: eye distances plus pixels (the original's own jitter is well inside it).
TOLERANCE_EYES = 0.25
TOLERANCE_PX = 2.0
#: Order of the five points after a mirror: right and left eye swap, so do the mouth corners.
MIRROR_ORDER = [1, 0, 2, 4, 3]

DetectFn = Callable[[np.ndarray, int], FaceDetections]


def close_up(box: np.ndarray) -> tuple[np.ndarray, int]:
    """(2x3 matrix from the image to the close-up, the close-up's side) for a face box."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    scale = REFINE_FACE_PX / side
    half = side * (0.5 + MARGIN)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    matrix = np.array(
        [[scale, 0.0, -(cx - half) * scale], [0.0, scale, -(cy - half) * scale]], np.float64
    )
    return matrix, round(2.0 * half * scale)


def to_image(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Close-up points back in the image's pixels (the matrix is a pure scale and shift)."""
    return (np.asarray(points, np.float64) - matrix[:, 2]) / matrix[0, 0]


def mirror_back(points: np.ndarray, width: int) -> np.ndarray:
    """Points found on a horizontally mirrored picture `width` pixels wide, in the original."""
    out = np.asarray(points, np.float64).copy()
    out[:, 0] = (width - 1) - out[:, 0]
    return out[MIRROR_ORDER]


def merge(original: np.ndarray, candidates: Sequence[np.ndarray | None]) -> np.ndarray:
    """The mean of the original points and every candidate set close enough to them."""
    base = np.asarray(original, np.float64)
    tolerance = TOLERANCE_EYES * float(np.linalg.norm(base[0] - base[1])) + TOLERANCE_PX
    kept = [c for c in candidates if c is not None and np.abs(c - base).max() < tolerance]
    return np.mean([base, *kept], axis=0).astype(np.float32)


def central(found: FaceDetections, side: int) -> np.ndarray | None:
    """The points of the face nearest the close-up's centre, or None when none was found."""
    if len(found) == 0:
        return None
    centres = found.landmarks.mean(axis=1)
    j = int(np.argmin(np.linalg.norm(centres - side / 2.0, axis=1)))
    return found.landmarks[j].astype(np.float64)


def refined_points(
    detect: DetectFn, image: np.ndarray, box: np.ndarray, points: np.ndarray
) -> np.ndarray:
    """One face's five points, re-found in its close-up and the close-up's mirror, averaged."""
    matrix, side = close_up(box)
    crop = cv2.warpAffine(
        image, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    straight = central(detect(crop, side), side)
    mirrored = central(detect(cv2.flip(crop, 1), side), side)
    candidates = [
        None if straight is None else to_image(straight, matrix),
        None if mirrored is None else to_image(mirror_back(mirrored, side), matrix),
    ]
    return merge(points, candidates)


def refine_landmarks(detect: DetectFn, image: np.ndarray, dets: FaceDetections) -> FaceDetections:
    """The same faces (boxes, scores) with refined landmarks."""
    if len(dets) == 0:
        return dets
    landmarks = np.stack(
        [refined_points(detect, image, b, p) for b, p in zip(dets.boxes, dets.landmarks)]
    ).astype(np.float32)
    return FaceDetections(dets.boxes, landmarks, dets.scores)
