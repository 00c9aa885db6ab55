"""Wrapping a loaded watchlist gallery in the configured score normalisation (issue 12).

`load_gallery` builds the exact index; `wrap_gallery` turns its scores into what the threshold
is calibrated on (settings.scoring). No store access and no audit here: the cohort is a file of
faces of people on no watchlist, and nothing about a probe passes through.
"""

from __future__ import annotations

from collections.abc import Sequence

from openlfr.evaluation.cohort import load_cohort
from openlfr.matching.normalised import NormalisedGallery
from openlfr.matching.protocols import GalleryIndex
from openlfr.service.context import AppContext


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
