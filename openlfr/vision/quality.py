"""The quality gate: which detected faces are good enough to be embedded at all.

A face that fails the gate is still tracked (so one person stays one track) but is never
embedded or searched; its thresholds and their trade-offs are documented in QualitySettings.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from openlfr.config import QualitySettings


@dataclass(frozen=True, slots=True)
class FaceQuality:
    size_px: float
    detector_score: float
    sharpness: float
    asymmetry: float
    passed: bool
    reason: str | None

    @property
    def score(self) -> float:
        """One number to rank a track's views: bigger, sharper, more frontal, more certain."""
        frontal = max(0.0, 1.0 - self.asymmetry)
        return (
            self.detector_score
            * frontal
            * min(self.size_px, 160.0)
            * min(self.sharpness, 400.0) ** 0.5
        )


def pose_asymmetry(landmarks: np.ndarray) -> float:
    """How far the nose sits off the eyes' mid-line, as a fraction of the eye distance."""
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    eye_vec = left_eye - right_eye
    eye_dist = float(np.linalg.norm(eye_vec))
    if eye_dist < 1e-6:
        return 1.0
    mid = (left_eye + right_eye) / 2.0
    # Project nose offset on the eye axis: a frontal face has its nose near the mid-point.
    offset = float(np.dot(nose - mid, eye_vec / eye_dist))
    return min(1.0, abs(offset) / (eye_dist / 2.0))


def sharpness(aligned_bgr: np.ndarray) -> float:
    """Variance of the Laplacian of the grey crop: low for blurred faces."""
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def landmark_gate(
    size_px: float,
    detector_score: float,
    landmarks: np.ndarray,
    settings: QualitySettings,
    *,
    max_asymmetry: float | None = None,
    min_face_px: float | None = None,
) -> str | None:
    """The checks that need no pixels: run first, so that a face they refuse is never aligned.

    `max_asymmetry` / `min_face_px` override the settings' bar with a looser hard floor: the
    live pipeline searches turned and small faces and weighs them as weaker evidence instead
    (pipeline/evidence.py); enrolment and evaluation keep the strict bar.
    """
    asym = pose_asymmetry(landmarks)
    min_px = settings.min_face_px if min_face_px is None else min_face_px
    max_asym = settings.max_asymmetry if max_asymmetry is None else max_asymmetry
    if size_px < min_px:
        return f"face {size_px:.0f}px < {min_px:.0f}px"
    if detector_score < settings.min_detector_score:
        return f"detector score {detector_score:.2f} < {settings.min_detector_score:.2f}"
    if asym > max_asym:
        return f"turned away (asymmetry {asym:.2f} > {max_asym:.2f})"
    return None


def assess(
    size_px: float,
    detector_score: float,
    landmarks: np.ndarray,
    aligned_bgr: np.ndarray,
    settings: QualitySettings,
    *,
    max_asymmetry: float | None = None,
    min_face_px: float | None = None,
) -> FaceQuality:
    sharp = sharpness(aligned_bgr)
    asym = pose_asymmetry(landmarks)
    reason = landmark_gate(
        size_px,
        detector_score,
        landmarks,
        settings,
        max_asymmetry=max_asymmetry,
        min_face_px=min_face_px,
    )
    if reason is None and sharp < settings.min_sharpness:
        reason = f"blurred (sharpness {sharp:.0f} < {settings.min_sharpness:.0f})"
    return FaceQuality(size_px, detector_score, sharp, asym, reason is None, reason)
