"""Score normalisation used live and in calibration (issue 12 item 1).

Measured on the tuning half of the dev LFW identities (benchmarks/accuracy.py, leave-one-out
non-mated searches): cohort z-norm raises TPIR at FPIR 0.1% from 85.3% to 89.6%, flip TTA +
z-norm to 90.5% (kept); enrolment augmentation (enrol_augment) measures 89.0-90.1%, within
noise of that. SFace+dlib score fusion (fixed or quality-aware weights) added nothing
measurable and is therefore not offered here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: Enrolment template augmentation (openlfr.matching.templates builds the views).
AugmentMode = Literal["none", "mirror", "mirror+rotate"]


class ScoringSettings(BaseModel):
    """How a gallery's cosine scores become the score compared with the threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    normalisation: Literal["none", "znorm"] = Field(
        "none",
        description=(
            "'none': the raw cosine is the score. 'znorm': each watchlist entry's score is "
            "(cosine - mean) / std of that entry's scores against a cohort of faces of people "
            "not on the watchlist, so an entry that looks like many people (a 'lamb') needs a "
            "higher cosine to alert. The z-score is mapped back to a cosine-like scale "
            "(mean + std * z, from cosines between cohort faces), so thresholds stay in [-1, 1]. "
            "Measured on LFW (tune half): TPIR at FPIR 0.1% 84.9% -> 89.6%. Trade-off: a given "
            "threshold means a different false-alert rate than under 'none', so the threshold "
            "and the governance floor must come from `openlfr calibrate` with the same setting."
        ),
    )
    cohort_path: Path | None = Field(
        None,
        description=(
            "A .npz cohort file of unit-length embeddings (N, dim) of faces of people on no "
            "watchlist (e.g. a public research set), made by openlfr.evaluation.cohort, with the "
            "embedder in use. Required when normalisation='znorm' (a watchlist of a few people "
            "is far too small to be its own cohort). Trade-off: a bigger cohort gives steadier "
            "statistics but costs a search of each cohort face when a watchlist is loaded."
        ),
    )
    cohort_min: int = Field(
        50,
        ge=2,
        description=(
            "Fewest cohort faces z-norm may rest on. Fewer gives noisy per-entry statistics "
            "(an entry's std from a handful of scores can be far off, moving its false-alert "
            "rate); loading refuses a smaller cohort rather than normalise badly."
        ),
    )
    min_std: float = Field(
        0.02,
        gt=0.0,
        description=(
            "Floor on an entry's cohort std (cosine units). Guards against dividing by a tiny "
            "std from a near-duplicate cohort; too high flattens the normalisation."
        ),
    )
    enrol_augment: AugmentMode = Field(
        "none",
        description=(
            "How a reference image becomes its template at enrolment. 'none': the embedding of "
            "the aligned face. 'mirror': the mean of the face's and its mirror image's "
            "embeddings. 'mirror+rotate': also the face rotated by +-augment_degrees (the "
            "lever that measured best on LFW, with znorm: see benchmarks/accuracy.py and the "
            "README). The views are made from the decoded image in memory and only their mean "
            "vector is kept, sealed as before. Trade-offs: enrolment embeds 2-4 views instead "
            "of one (search costs nothing more); a probe taken in the reference photo's exact "
            "pose scores slightly lower, most other poses higher; the threshold must come from "
            "`openlfr calibrate` run with the same setting (it builds templates the same way); "
            "it applies to images enrolled after it is set (re-enrol to rebuild older ones); "
            "dlib re-aligns each crop itself, so with dlib only the mirror adds anything."
        ),
    )
    weak_reference_below: dict[str, float] = Field(
        default_factory=lambda: {"sface": 0.959},
        description=(
            "Per embedder: the agreement between a reference face's embedding and its mirror "
            "image's (cosine) below which enrolment warns 'weak reference: enrol another "
            "image' (matching/reference_strength.py). Advice only: the image is enrolled and "
            "searched either way. SFace's 0.959 is the 10th percentile of the tuning half's LFW "
            "references; on the reporting half the references below it were 7% and their "
            "searches missed 30% against 4% (a quarter of all misses; benchmarks/accuracy.py). "
            "Higher warns more often; an embedder without an entry is never checked. Not "
            "checked with vision.flip_tta, whose vectors are mirror-averaged by construction."
        ),
    )
    augment_degrees: float = Field(
        7.0,
        ge=0.0,
        le=20.0,
        description=(
            "Rotation (degrees, each way) of the extra views under enrol_augment='mirror+rotate'"
            ". Measured at 7; much larger tilts blur the template towards other faces."
        ),
    )
