"""Cause-level variants of the aligned crop, measured for equal error rates (issue 12 item 2).

benchmarks/equality_causes.py found the gallery image's hair proxy (edges above the eyes) and
its sharpness account for part of the gap in misses between gender_from_name groups. These
variants change what the embedder sees for EVERY face alike (nothing keyed on a group):

* ``tight<z>``: the alignment template scaled by z about the nose tip, so the face fills more of
  the crop and less forehead, hair and background enter it (SFace's own template is z = 1).
* ``masktop<rows>``: the crop's top rows (forehead, fringe, hat brim, a hand on the head) set
  to the mean grey of the rest, in every image, so no one's hair or headwear enters the vector.
* ``sharpen``: an unsharp mask on crops softer than SHARP_BELOW (Laplacian variance), so a soft
  reference and a sharp probe differ less in texture; sharp crops are left unchanged.

`variant_crop` is the one transform, used here and (when kept) live by the embedding path.
Vectors are cached like the other evaluation vectors (numbers, no images).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import FrameShapeError, ImageRejected
from openlfr.evaluation.embedding_cache import EmbeddingCache, model_key
from openlfr.evaluation.face_rows import face_rows
from openlfr.vision.align import TEMPLATE_112, similarity_matrix
from openlfr.vision.images import SingleFace
from openlfr.vision.quality import sharpness
from openlfr.vision.sface import SFaceEmbedder

#: Laplacian variance of a 112x112 crop below which `sharpen` applies (about LFW's lower third).
SHARP_BELOW = 130.0
DIM = 128


def tight_crop(
    image: np.ndarray, landmarks: np.ndarray, zoom: float, size: int = 112
) -> np.ndarray:
    nose = TEMPLATE_112[2]
    dst = ((TEMPLATE_112 - nose) * zoom + nose) * (size / 112.0)
    try:
        m = similarity_matrix(np.asarray(landmarks, np.float32).reshape(5, 2), dst)
    except FrameShapeError:
        raise ImageRejected("alignment", "degenerate landmarks") from None
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR)


def sharpen_soft(crop: np.ndarray, below: float = SHARP_BELOW) -> np.ndarray:
    if sharpness(crop) >= below:
        return crop
    blur = cv2.GaussianBlur(crop, (0, 0), 1.2)
    return cv2.addWeighted(crop, 1.6, blur, -0.6, 0)


def variant_crop(image: np.ndarray, landmarks: np.ndarray, variant: str) -> np.ndarray:
    if variant.startswith("tight"):
        return tight_crop(image, landmarks, float(variant[len("tight") :]))
    if variant.startswith("masktop"):
        crop = tight_crop(image, landmarks, 1.0).copy()
        rows = int(variant[len("masktop") :])
        crop[:rows] = crop[rows:].reshape(-1, 3).mean(axis=0).astype(np.uint8)
        return crop
    if variant == "sharpen":
        return sharpen_soft(tight_crop(image, landmarks, 1.0))
    raise ValueError(f"unknown crop variant {variant!r}")


def variant_vectors(
    paths: Sequence[Path], vision: VisionSettings, variant: str
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 128) SFace vectors of each image's central face under `variant`, and ok."""
    cache = EmbeddingCache(model_key(vision) + f"|sface-crop[{variant}]", DIM)
    emb = SFaceEmbedder(flip=False)

    def row(face: SingleFace) -> np.ndarray:
        crop = variant_crop(face.image, face.detections.landmarks[0], variant)
        return emb.embed_batch([crop]).vectors[0]

    return face_rows(paths, vision, cache, row)
