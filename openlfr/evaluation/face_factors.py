"""Per-image factors that may explain who is missed (issue 12 item 2): image quality, pose and
a hair-occlusion proxy, measured on the face the evaluation embeds (the central one).

Factors (one row per image, NaN where no face was found):
* size: detected face size (px); det_score: YuNet's score; sharpness: Laplacian variance of the
  aligned 112x112 crop; pose: nose offset from the eyes' mid-line / eye distance (absolute);
* forehead_edges: edge density (Canny) in the band above the eyes of the aligned crop, and
  upper_var: grey-level std there. Hair over the forehead and eyes (fringes, long hair framing
  the face) shows as more edges and more contrast in that band than bare skin. A proxy only.
* brightness: mean grey level of the crop (under- or over-exposure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from openlfr.config import VisionSettings
from openlfr.evaluation.embedding_cache import EmbeddingCache, model_key
from openlfr.evaluation.face_rows import face_rows
from openlfr.vision.align import align_face
from openlfr.vision.images import SingleFace
from openlfr.vision.quality import pose_asymmetry, sharpness

FACTORS = (
    "size",
    "det_score",
    "sharpness",
    "pose",
    "forehead_edges",
    "upper_var",
    "brightness",
)
#: Rows of the aligned crop above the eyes (SFace's template puts the eyes at y ~ 52 of 112).
FOREHEAD = slice(0, 40)


def crop_factors(aligned_bgr: np.ndarray) -> tuple[float, float, float]:
    """(forehead edge density, forehead grey std, mean grey) of an aligned crop."""
    grey = cv2.cvtColor(aligned_bgr, cv2.COLOR_BGR2GRAY)
    band = grey[FOREHEAD]
    edges = cv2.Canny(band, 60, 150)
    return float(np.mean(edges > 0)), float(band.std()), float(grey.mean())


def image_factors(paths: Sequence[Path], vision: VisionSettings) -> np.ndarray:
    """(N, len(FACTORS)) float64; cached with the evaluation embeddings (numbers, no images)."""
    cache = EmbeddingCache(model_key(vision) + "|factors-v1", len(FACTORS))

    def row(face: SingleFace) -> np.ndarray:
        lm = face.detections.landmarks[0]
        crop = align_face(face.image, lm)
        edges, var, bright = crop_factors(crop)
        return np.array(
            [
                float(face.detections.sizes[0]),
                float(face.detections.scores[0]),
                sharpness(crop),
                abs(pose_asymmetry(lm)),
                edges,
                var,
                bright,
            ],
            np.float32,
        )

    out, _ = face_rows(paths, vision, cache, row, fill=np.nan)
    return out.astype(np.float64)


def tertiles(values: np.ndarray) -> np.ndarray:
    """Stratum 0/1/2 of each value by the pooled tertile cut points (-1 for NaN)."""
    ok = np.isfinite(values)
    cuts = np.quantile(values[ok], [1 / 3, 2 / 3]) if ok.any() else np.array([0.0, 0.0])
    s = np.digitize(values, cuts)
    return np.where(ok, s, -1)


def standardised_rate(
    miss: np.ndarray, strata: np.ndarray, group: np.ndarray, a: str, b: str
) -> float:
    """Group a's miss rate if its searches had group b's mix of strata (direct
    standardisation): when it falls to b's rate, the factor accounts for the gap."""
    total = 0.0
    nb = int(np.sum((group == b) & (strata >= 0)))
    for k in np.unique(strata[strata >= 0]):
        in_a = (group == a) & (strata == k)
        share_b = np.sum((group == b) & (strata == k)) / max(nb, 1)
        if in_a.any():
            total += float(np.mean(miss[in_a])) * share_b
    return total
