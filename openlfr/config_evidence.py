"""Pose- and size-aware evidence a track needs before it alerts (issue 12 items 1, 3).

QualitySettings' `max_asymmetry` and `min_face_px` are the bar for a *full-weight* view (one such
view counts as one view of evidence, as before); faces between that bar and the hard floors here
are now searched, but each counts for less and a track made of them needs more views or a
higher fused score before it alerts. Faces beyond the floors are tracked, never embedded.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class EvidenceSettings(BaseModel):
    """Every field described with its trade-off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hard_max_asymmetry: float = Field(
        0.85,
        ge=0.0,
        le=1.0,
        description="Pose asymmetry beyond which a face is never embedded (near-profile: the "
        "nose almost at one eye, so alignment and embedding are meaningless). Higher searches "
        "more turned faces and spends CPU on views that rarely help.",
    )
    hard_min_face_px: float = Field(
        20.0,
        ge=8.0,
        description="Face size (px) below which a face is never embedded: under ~20 px the "
        "112x112 crop is mostly interpolation. Lower reaches further from the camera, with "
        "noisier vectors.",
    )
    min_weight: float = Field(
        0.35,
        gt=0.0,
        le=1.0,
        description="Weight of a view at the hard floor (most turned or smallest accepted); "
        "weights rise linearly to 1 at QualitySettings' frontal/size bar. Lower demands more "
        "turned/small views before an alert (fewer false alerts, slower, more misses).",
    )
    min_evidence: float = Field(
        1.0,
        gt=0.0,
        description="Weighted views a track needs before it may alert at threshold plus "
        "single_view_extra; below it, weak_view_extra is added too. 1.0 keeps one frontal "
        "large view behaving exactly as before.",
    )
    weak_view_extra: float = Field(
        0.05,
        ge=0.0,
        description="Extra score a track with less than min_evidence weighted views needs, on "
        "top of threshold + single_view_extra: a single turned or small glance alerts only on "
        "a very clear match. Higher: fewer false alerts from poor views, more misses.",
    )
    weight_quality: bool = Field(
        True,
        description="Also scale each view's fusion weight by its evidence weight, so a turned "
        "view pulls the fused vector less than a frontal one of the same sharpness.",
    )
