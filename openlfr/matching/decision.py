"""The threshold decision for one probe: a match, or nothing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Decision:
    matched: bool
    label: int  # best candidate (-1 when the gallery is empty)
    score: float
    runner_up: int
    margin: float  # best score minus the runner-up's (inf when there is no runner-up)


def decide(scores: np.ndarray, labels: np.ndarray, threshold: float) -> Decision:
    """`scores`/`labels` are one probe's top-k row from GalleryIndex.search (best first).

    A match needs the best score to reach the threshold; the margin is reported so that an
    officer can see how clearly the candidate beat the next-best person.
    """
    if len(labels) == 0 or labels[0] < 0:
        return Decision(False, -1, float("-inf"), -1, float("inf"))
    best = float(scores[0])
    has_second = len(labels) > 1 and labels[1] >= 0
    second = float(scores[1]) if has_second else float("-inf")
    margin = best - second if has_second else float("inf")
    return Decision(
        best >= threshold, int(labels[0]), best, int(labels[1]) if has_second else -1, margin
    )
