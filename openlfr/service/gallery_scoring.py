"""A watchlist's templates and scores as settings.scoring says (issue 12).

`enrolment_vector` makes the template enrolment seals (augmented when enrol_augment is set);
`load_gallery` builds the exact index; `wrap_gallery` turns its scores into what the threshold
is calibrated on. No store access and no audit here: the cohort is a file of faces of people on
no watchlist, and the enrolment image is only read, in memory, by the caller's embedder.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from openlfr.config import Settings
from openlfr.evaluation.cohort import load_cohort
from openlfr.matching.normalised import NormalisedGallery
from openlfr.matching.protocols import GalleryIndex
from openlfr.matching.reference_strength import mirror_agreement
from openlfr.matching.templates import augmented_template
from openlfr.service.context import AppContext
from openlfr.vision.align import align_face


def wrap_gallery(ctx: AppContext, gallery: GalleryIndex, entries: Sequence[object]) -> GalleryIndex:
    """`gallery` unchanged when normalisation is 'none'; else a NormalisedGallery whose labels
    0..len(entries)-1 carry cohort statistics."""
    scoring = ctx.settings.scoring
    if scoring.normalisation == "none" or not entries:
        return gallery
    if scoring.cohort_path is None:
        raise ValueError(
            "settings.scoring.normalisation='znorm' needs settings.scoring.cohort_path "
            "(a cohort file from openlfr.evaluation.cohort)"
        )
    cohort = load_cohort(
        scoring.cohort_path, ctx.embedder.name, ctx.embedder.dim, scoring.cohort_min
    )
    return NormalisedGallery.from_cohort(gallery, cohort, len(entries), scoring.min_std)


def enrolment_vector(ctx: AppContext, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The template of the one face (landmarks (1, 5, 2) or (5, 2)) in `image`, held in memory:
    its embedding, or with scoring.enrol_augment the mean of its augmented views."""
    scoring = ctx.settings.scoring
    lm = np.asarray(landmarks, np.float32).reshape(-1, 5, 2)[:1]
    if scoring.enrol_augment == "none":
        return ctx.embedder.embed(image, lm).vectors[0]
    return augmented_template(
        ctx.embedder, image, lm[0], scoring.enrol_augment, scoring.augment_degrees
    )


def weak_floor(settings: Settings, model: str) -> float | None:
    """The weak-reference floor for `model`, or None: none measured, or vision.flip_tta on."""
    if settings.vision.flip_tta:
        return None
    return settings.scoring.weak_reference_below.get(model)


def reference_agreement(ctx: AppContext, image: np.ndarray, landmarks: np.ndarray) -> float | None:
    """The mirror agreement of the one face whose landmarks are given; None with vision.flip_tta,
    whose vectors are mirror-averaged (a face and its mirror would embed alike)."""
    if ctx.settings.vision.flip_tta:
        return None
    crop = align_face(image, np.asarray(landmarks, np.float32).reshape(-1, 5, 2)[0])
    plain, mirrored = ctx.embedder.embed_batch([crop, cv2.flip(crop, 1)]).vectors
    return mirror_agreement(plain, mirrored)
