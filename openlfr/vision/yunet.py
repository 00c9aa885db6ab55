"""YuNet (OpenCV Zoo) on OpenCV's DNN module: the default detector."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import FrameShapeError
from openlfr.vision.landmarks import refine_landmarks
from openlfr.vision.model_files import model_path
from openlfr.vision.types import FaceDetections


class YuNetDetector:
    """Detects faces with 5 landmarks; frames are shrunk to `detect_max_side` first for speed."""

    name = "yunet"

    def __init__(self, settings: VisionSettings) -> None:
        self._settings = settings
        self._path = str(model_path("yunet"))
        # cv2 detector objects are not safe to share between threads; keep one per thread.
        self._local = threading.local()
        self._detector()  # load now so a bad file fails at start-up, not on the first face

    def _detector(self) -> cv2.FaceDetectorYN:
        det = getattr(self._local, "det", None)
        if det is None:
            s = self._settings
            det = cv2.FaceDetectorYN.create(
                self._path, "", (320, 320), s.detector_score, s.detector_nms, 5000
            )
            self._local.det = det
            self._local.size = (320, 320)
        return det

    def _shrink(self, image: np.ndarray, size: tuple[int, int], side: int) -> np.ndarray:
        """`image` shrunk to `size`: halved by area averaging while it is at least twice as
        large, then interpolated the rest of the way. OpenCV averages areas fast only at a
        factor of exactly 2 (0.27 ms for a 720p frame on one core, against 4.7 ms at 0.275
        and 3.1 ms for 1080p to 640). After the halvings the factor left is over 1/2, where
        bilinear interpolation still reads every pixel: so no pixel is skipped, and at the
        configured size (where the smallest faces must survive) the rest is area-averaged."""
        w, h = size
        while image.shape[1] >= 2 * w and image.shape[0] >= 2 * h:
            half = (image.shape[1] // 2, image.shape[0] // 2)
            image = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
        if (image.shape[1], image.shape[0]) == size:
            return image
        keyframe = side >= self._settings.detect_max_side
        interpolation = cv2.INTER_AREA if keyframe else cv2.INTER_LINEAR
        return cv2.resize(image, size, interpolation=interpolation)

    def detect(self, image: np.ndarray, max_side: int | None = None) -> FaceDetections:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise FrameShapeError(
                f"YuNetDetector.detect: expected (H, W, 3) uint8, got {image.shape} {image.dtype}"
            )
        h, w = image.shape[:2]
        side = self._settings.detect_max_side if max_side is None else max_side
        scale = min(1.0, side / max(h, w))
        work = image
        if scale < 1.0:
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            work = self._shrink(image, size, side)
        det = self._detector()
        size = (work.shape[1], work.shape[0])
        if self._local.size != size:  # costs nothing measurable: frames and close-ups alternate
            det.setInputSize(size)
            self._local.size = size
        _, faces = det.detect(work)
        if faces is None or len(faces) == 0:
            return FaceDetections.empty()
        faces = np.asarray(faces, dtype=np.float32).copy()
        faces[:, :14] /= np.float32(scale)
        x, y, bw, bh = faces[:, 0], faces[:, 1], faces[:, 2], faces[:, 3]
        boxes = np.stack([x, y, x + bw, y + bh], axis=1)
        np.clip(boxes[:, 0::2], 0, w - 1, out=boxes[:, 0::2])
        np.clip(boxes[:, 1::2], 0, h - 1, out=boxes[:, 1::2])
        landmarks = faces[:, 4:14].reshape(-1, 5, 2).copy()
        scores = np.ascontiguousarray(faces[:, 14])
        return FaceDetections(boxes.astype(np.float32), landmarks, scores)

    def refine(self, image: np.ndarray, detections: FaceDetections) -> FaceDetections:
        if not self._settings.refine_landmarks:
            return detections
        return refine_landmarks(self.detect, image, detections)
