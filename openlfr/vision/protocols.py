"""What the pipeline needs of a detector and of an embedder; backends implement these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from openlfr.vision.types import Embeddings, FaceDetections


@runtime_checkable
class Detector(Protocol):
    """Finds faces and their five landmarks in a BGR uint8 image."""

    name: str

    def detect(self, image: np.ndarray, max_side: int | None = None) -> FaceDetections:
        """Faces in `image`, in its own pixels. `max_side`: shrink the image so its long side
        is at most this before detecting (None: the backend's configured size). The live
        pipeline shrinks further between keyframes when every face it follows is large."""
        ...

    def refine(self, image: np.ndarray, detections: FaceDetections) -> FaceDetections:
        """The same faces with their landmarks re-found in a close-up and its mirror image and
        averaged (vision/landmarks.py), or unchanged when `refine_landmarks` is off. Called
        only for faces about to be embedded: it costs two small detections per face."""
        ...


@runtime_checkable
class Embedder(Protocol):
    """Turns faces (given by their landmarks in `image`) into unit-length vectors."""

    name: str
    dim: int

    def embed(self, image: np.ndarray, landmarks: np.ndarray) -> Embeddings:
        """`landmarks` is (N, 5, 2) float32 in `image`'s pixels; returns N vectors."""
        ...

    def embed_batch(self, crops: Sequence[np.ndarray]) -> Embeddings:
        """Embeds already-aligned 112x112 BGR crops (`vision.align.align_face`), from any
        number of frames and cameras, in one call: the pipeline's shared inference stage
        batches every camera's faces into one forward pass."""
        ...
