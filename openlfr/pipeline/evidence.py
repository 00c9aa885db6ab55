"""Pose- and size-aware evidence: how much one view counts and what score a track needs.

A sequential decision over a track's views: each view adds its weight (1 for a frontal face at
least QualitySettings.min_face_px tall, less for turned or small ones, down to
EvidenceSettings.min_weight at the hard floors). The score a track's fused vector must reach
falls as evidence accumulates:

- evidence < min_evidence:             threshold + single_view_extra + weak_view_extra
- evidence < MatchingSettings.min_views: threshold + single_view_extra
- otherwise:                           threshold

So one frontal large view is decided exactly as before, while a three-quarter or small face
needs more views (or a clearer match) before it alerts. Pure functions: no state, no I/O.

Units: the extras are added to the threshold and compared with the gallery's score, so they are
in the threshold's units. Under scoring.normalisation='znorm' that is the cosine-like z scale
(matching.normalised: mu0 + sd0 * z), on which `openlfr calibrate` also finds the threshold; an
extra of 0.05 there is 0.05 / sd0 cohort standard deviations for EVERY entry, whatever its raw
cosine spread (tests/matching/test_evidence_scale.py checks this in CameraAnalysis.decide).
"""

from __future__ import annotations

from collections.abc import Iterable

from openlfr.config import MatchingSettings, QualitySettings
from openlfr.config_evidence import EvidenceSettings


def _ramp(value: float, full: float, floor: float, min_weight: float) -> float:
    """1 at `full`, `min_weight` at `floor`, linear between; `floor` may sit either side."""
    if floor == full:
        return 1.0
    t = (value - full) / (floor - full)  # 0 at the full-weight bar, 1 at the floor
    if t <= 0.0:
        return 1.0
    return max(min_weight, 1.0 - min(t, 1.0) * (1.0 - min_weight))


def view_weight(asymmetry: float, size_px: float, q: QualitySettings, e: EvidenceSettings) -> float:
    """How much one view counts, in (0, 1]: the product of its pose and size factors."""
    pose = _ramp(
        asymmetry, q.max_asymmetry, max(e.hard_max_asymmetry, q.max_asymmetry), e.min_weight
    )
    size = _ramp(size_px, q.min_face_px, min(e.hard_min_face_px, q.min_face_px), e.min_weight)
    return pose * size


def within_floor(asymmetry: float, size_px: float, q: QualitySettings, e: EvidenceSettings) -> bool:
    """Whether a face is worth embedding at all (the documented hard floor)."""
    return asymmetry <= max(e.hard_max_asymmetry, q.max_asymmetry) and size_px >= min(
        e.hard_min_face_px, q.min_face_px
    )


def accumulate(weights: Iterable[float]) -> float:
    """A track's evidence: the sum of its views' weights (every view embedded, not only the
    views kept for fusion, so a long turned-only track can still earn the plain threshold)."""
    return float(sum(weights))


def required_score(
    threshold: float, evidence: float, m: MatchingSettings, e: EvidenceSettings
) -> float:
    """The fused score a track with this much accumulated evidence must reach to alert."""
    if evidence < e.min_evidence - 1e-9:
        return threshold + m.single_view_extra + e.weak_view_extra
    if evidence < m.min_views - 1e-9:
        return threshold + m.single_view_extra
    return threshold
