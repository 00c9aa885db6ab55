"""SFace (OpenCV Zoo) on OpenCV's DNN module: the default embedder, 128-d, cosine."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import cv2
import numpy as np

from openlfr.vision.align import align_face
from openlfr.vision.model_files import model_path
from openlfr.vision.types import Embeddings


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class SFaceEmbedder:
    """Aligns each face to 112x112 and runs SFace.

    The int8bq file declares 29 unused extra inputs, which breaks `FaceRecognizerSF.feature()`
    on OpenCV 5; reading it as a plain network and feeding the input named 'data' works.
    """

    name = "sface"
    dim = 128

    def __init__(self, flip: bool = False) -> None:
        # flip: embed each crop and its mirror image and average the two (test-time
        # augmentation; VisionSettings.flip_tta says what it costs and what it buys).
        self.flip = flip
        self._path = str(model_path("sface"))
        self._local = threading.local()
        self._net()

    def _net(self) -> cv2.dnn.Net:
        net = getattr(self._local, "net", None)
        if net is None:
            net = cv2.dnn.readNetFromONNX(self._path)
            self._local.net = net
        return net

    def embed_batch(self, crops: Sequence[np.ndarray]) -> Embeddings:
        """Embeds already-aligned 112x112 BGR crops in one forward pass."""
        if not crops:
            return Embeddings(np.zeros((0, self.dim), np.float32), self.name)
        batch = list(crops) + [cv2.flip(c, 1) for c in crops] if self.flip else list(crops)
        # SFace takes raw BGR 0..255: no scaling, no channel swap.
        blob = cv2.dnn.blobFromImages(batch, 1.0, (112, 112), (0, 0, 0), swapRB=False, crop=False)
        net = self._net()
        net.setInput(blob, "data")
        out = np.asarray(net.forward(), dtype=np.float32).reshape(len(batch), -1)
        if self.flip:  # mean of the unit vectors of a face and of its mirror image
            out = normalise(out[: len(crops)]) + normalise(out[len(crops) :])
        return Embeddings(normalise(out), self.name)

    def embed_aligned(self, crops: Sequence[np.ndarray]) -> Embeddings:
        """The former name of `embed_batch` (evaluation code uses it)."""
        return self.embed_batch(crops)

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> Embeddings:
        return self.embed_batch([align_face(image, lm) for lm in landmarks])
