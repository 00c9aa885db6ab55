"""Score normalisation used live and in calibration (issue 12 item 1).

Measured on the tuning half of the dev LFW identities (benchmarks/accuracy.py): cohort z-norm
raises TPIR at FPIR 0.1% from 84.9% to 88.7%; SFace+dlib score fusion added nothing measurable
and is therefore not offered here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
