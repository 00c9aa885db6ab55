"""More non-mated searches for one half: the images of the OTHER half's identities, people on
no gallery of this half, searched besides the half's own non-mated and leave-one-out searches
(issue 12 item 2: is the false-positive rate equal across groups?).

Why: on the REPORT half FPIR 0.1% rests on two or three false positives and none falls on a
woman's search, so the FPIR ratio between groups is unmeasurable there. The other half's
images add thousands of impostor searches. Nothing is chosen on them, they are only
impostors; the half's cohort images (z-norm's normalisation faces) are left out, so no search is
also one of the faces that normalise its scores.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from openlfr.evaluation import levers as lv
from openlfr.evaluation.improvements import Outcome


def other_half_rows(h: lv.Half, ok: np.ndarray, half: int) -> np.ndarray:
    """Flat rows of the images (with a face) of identities outside `half`, less its cohort."""
    outside = np.array([lv.half_of(str(i)) != half for i in h.ids], dtype=bool)
    return np.setdiff1d(np.flatnonzero(outside & ok), h.cohort)


def with_impostors(
    h: lv.Half,
    score_rows: Callable[[np.ndarray], np.ndarray],
    ok: np.ndarray,
    impostors: np.ndarray,
) -> tuple[Outcome, list[str]]:
    """`levers.run_scores` (leave-one-out) with the `impostors` rows appended to the non-mated
    searches, and the identity of every non-mated search in order."""
    o = lv.run_scores(h, score_rows, ok, leave_one_out=True)
    s = score_rows(impostors)
    s[:, ~ok[h.split.gallery]] = -np.inf
    extra = s.max(axis=1) if s.shape[1] else np.full(len(impostors), -np.inf)
    ids = lv.nonmated_identities(h, ok, True) + [str(i) for i in h.ids[impostors]]
    both = np.concatenate([o.nonmated_score, extra])
    return Outcome(o.mated_score, o.mated_rank1, both), ids
