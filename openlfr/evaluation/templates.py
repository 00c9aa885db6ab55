"""Evaluation images' templates built as enrolment builds them (settings.scoring.enrol_augment).

`openlfr calibrate` must find its threshold on templates made the way live enrolment makes them:
with augmentation on, a gallery entry is the mean of its augmented views, and scores (and so the
false-alert rate at a threshold) differ from the plain embedding's. Same code as enrolment
(openlfr.matching.templates), cached like the other evaluation vectors (numbers, no images).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from openlfr.config import VisionSettings
from openlfr.config_scoring import ScoringSettings
from openlfr.errors import ImageRejected
from openlfr.evaluation.embedding_cache import EmbeddingCache, file_key, model_key
from openlfr.matching.templates import augmented_template
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.images import find_single_face, read_image


def augment_key(vision: VisionSettings, scoring: ScoringSettings) -> str:
    return model_key(vision) + f"|enrol-aug[{scoring.enrol_augment},{scoring.augment_degrees:g}]"


def enrolment_templates(
    paths: Sequence[Path],
    vision: VisionSettings,
    scoring: ScoringSettings,
    rows: np.ndarray,
    *,
    use_cache: bool = True,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(vectors (N, dim), ok) with the augmented template of each path where `rows` (bool, N)
    is set, zero elsewhere; None when enrol_augment is 'none' (the plain vectors are the
    templates)."""
    if scoring.enrol_augment == "none":
        return None
    detector = None
    embedder = build_embedder(vision)
    cache = EmbeddingCache(augment_key(vision, scoring), embedder.dim) if use_cache else None
    out = np.zeros((len(paths), embedder.dim), np.float32)
    ok = np.zeros(len(paths), bool)
    for i in (int(j) for j in np.flatnonzero(rows)):
        key = file_key(paths[i])
        found, vec = cache.get(key) if cache is not None else (False, None)
        if not found:
            detector = detector or build_detector(vision)
            try:
                face = find_single_face(
                    read_image(paths[i]), detector, str(paths[i]), several="central"
                )
                vec = augmented_template(
                    embedder,
                    face.image,
                    face.detections.landmarks[0],
                    scoring.enrol_augment,
                    scoring.augment_degrees,
                )
            except ImageRejected:
                vec = None
            if cache is not None:
                cache.put(key, vec)
        if vec is not None:
            out[i], ok[i] = vec, True
    if cache is not None:
        cache.save()
    return out, ok
