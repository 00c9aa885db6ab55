"""How well a reference face agrees with its own mirror image: a weak reference is flagged at
enrolment so that a supervisor adds another image of the person (issue 12 item 2).

Why: on LFW the misses at the operating threshold concentrate on a few people whose one
gallery image is poor (a hand over the forehead, squinting, a grimace, hard light), and more
of those are women's. The quality gate's score (size, detector score, sharpness, pose) does
not predict them (correlation with a reference's miss rate -0.03 to -0.05), but the cosine
between the SFace embedding of the aligned reference and of its mirror image does (-0.24 to
-0.31): occlusion and expression are rarely symmetric. Measured in benchmarks/accuracy.py
("weak references"): with the floor at the tuning half's 10th percentile, the reporting
half's references below it are 7% of them and hold a quarter of all misses.

No decision depends on it: a weak reference is still enrolled and searched. It is advice,
and it never looks at who the person is.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def mirror_agreement(plain: np.ndarray, mirrored: np.ndarray) -> float:
    """Cosine between a face's embedding and its mirror image's (both any length)."""
    a, b = np.asarray(plain, np.float64).ravel(), np.asarray(mirrored, np.float64).ravel()
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    if a.shape != b.shape or norms == 0.0 or not np.isfinite(norms):
        raise ValueError("mirror_agreement: two non-zero vectors of one length are needed")
    return float(a @ b) / norms


def is_weak(agreement: float | None, floor: float | None) -> bool | None:
    """Whether a reference is weak; None when it cannot be said (not measured, or the model has
    no measured floor)."""
    if agreement is None or floor is None:
        return None
    return agreement < floor


def weak_reference_note(agreement: float | None, floor: float | None) -> str | None:
    """The enrolment warning for a reference whose mirror agreement is below `floor` (None: the
    model has no measured floor, or nothing was measured, so no advice)."""
    if not is_weak(agreement, floor):
        return None
    return (
        f"weak reference (mirror agreement {agreement:.3f}, below {floor:.3f}): faces "
        "like this one are missed far more often; enrol another image of this person "
        "(different day, no hand, hair or glasses over the face, neutral expression)"
    )


def weak_only(images: Iterable[tuple[str, bool | None]]) -> tuple[str, ...]:
    """The subjects (sorted) whose every image is known weak, from (subject, is_weak) per image:
    the people a watchlist will most often miss. One ok or unmeasured image keeps a subject off:
    measured on LFW (benchmarks/second_reference.py), a second image of a weak reference cuts
    that person's misses from ~36% to ~14%, so advice is due only where no other image exists."""
    verdicts: dict[str, list[bool | None]] = {}
    for subject, weak in images:
        verdicts.setdefault(subject, []).append(weak)
    return tuple(sorted(s for s, v in verdicts.items() if all(w is True for w in v)))
