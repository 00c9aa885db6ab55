"""dlib's ResNet face recogniser: the second embedder, for comparison and second opinions.

dlib wants its own 5-point landmarks (from its shape predictor) for its chip alignment, so the
detector's landmarks only locate the face: a box around them is handed to the shape predictor.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import cv2
import numpy as np

from openlfr.errors import ModelFileError
from openlfr.vision.model_files import model_path
from openlfr.vision.sface import normalise
from openlfr.vision.types import Embeddings


class DlibResNetEmbedder:
    name = "dlib"
    dim = 128

    def __init__(self, jitters: int = 0) -> None:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelFileError(
                "the dlib embedder needs the package 'dlib-bin==20.0.1.post1'"
            ) from exc
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(model_path("dlib_shape5")))
        self._net = dlib.face_recognition_model_v1(str(model_path("dlib_resnet")))
        self._jitters = jitters
        self._lock = threading.Lock()  # dlib objects are not documented as thread-safe

    def _box(self, bbox: np.ndarray) -> object:
        x1, y1, x2, y2 = (round(float(v)) for v in bbox)
        return self._dlib.rectangle(x1, y1, x2, y2)

    def embed_boxes(self, image: np.ndarray, boxes: np.ndarray) -> Embeddings:
        """Embeds faces given by (N, 4) x1, y1, x2, y2 boxes in a BGR image."""
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        vectors = []
        with self._lock:
            for box in boxes:
                shape = self._shape(rgb, self._box(box))
                vec = self._net.compute_face_descriptor(rgb, shape, self._jitters)
                vectors.append(np.asarray(vec, dtype=np.float32))
        arr = np.stack(vectors) if vectors else np.zeros((0, self.dim), np.float32)
        return Embeddings(normalise(arr), self.name)

    def embed_batch(self, crops: Sequence[np.ndarray]) -> Embeddings:
        """Embeds already-aligned 112x112 crops: dlib's shape predictor re-finds its own five
        points inside each crop (its chip alignment wants them), the face filling the crop.
        dlib has no batched forward; one lock-held loop is still one call per batch."""
        vectors = []
        with self._lock:
            for crop in crops:
                rgb = np.ascontiguousarray(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
                h, w = rgb.shape[:2]
                shape = self._shape(rgb, self._dlib.rectangle(0, 0, w - 1, h - 1))
                vec = self._net.compute_face_descriptor(rgb, shape, self._jitters)
                vectors.append(np.asarray(vec, dtype=np.float32))
        arr = np.stack(vectors) if vectors else np.zeros((0, self.dim), np.float32)
        return Embeddings(normalise(arr), self.name)

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> Embeddings:
        boxes = []
        for lm in landmarks:
            # The 5 landmarks span roughly the inner 60% of the face: pad to a face-sized box.
            lo, hi = lm.min(axis=0), lm.max(axis=0)
            centre, span = (lo + hi) / 2, float(max(hi - lo)) * 1.6
            boxes.append(
                [
                    centre[0] - span / 2,
                    centre[1] - span / 2,
                    centre[0] + span / 2,
                    centre[1] + span / 2,
                ]
            )
        return self.embed_boxes(image, np.asarray(boxes, dtype=np.float32).reshape(-1, 4))
