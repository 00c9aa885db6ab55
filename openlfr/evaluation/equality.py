"""Per-group error rates over a grid of thresholds, so that the rates at any deployment's own
threshold can be shown to the authorising officer (issue 13, equality evidence per deployment).

``eval identify`` measures per-group rates at one operating threshold; a deployment runs at its
own. The grid (every 0.01 of cosine) is what `openlfr eval identify --record` keeps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Cosine thresholds the grid covers: every plausible live threshold of either model.
GRID = tuple(round(0.20 + 0.01 * i, 2) for i in range(80))


def rates_by_threshold(
    mated_groups: np.ndarray,
    nonmated_groups: np.ndarray,
    mated_hits: Any,
    nonmated_scores: np.ndarray,
) -> dict[str, dict[str, list[float | None]]]:
    """{group: {"fpir": [...], "fnir": [...]}} at each threshold of ``GRID``.

    ``mated_hits(t)`` is a bool array: mated search found its mate at rank 1 at or above t."""
    out: dict[str, dict[str, list[float | None]]] = {}
    for g in sorted(set(mated_groups) | set(nonmated_groups)):
        mm, nn = mated_groups == g, nonmated_groups == g
        fpir: list[float | None] = []
        fnir: list[float | None] = []
        for t in GRID:
            fpir.append(float(np.mean(nonmated_scores[nn] >= t)) if nn.any() else None)
            fnir.append(float(np.mean(~mated_hits(t)[mm])) if mm.any() else None)
        out[str(g)] = {"fpir": fpir, "fnir": fnir, "mated": [int(mm.sum())],
                       "nonmated": [int(nn.sum())]}  # fmt: skip
    return out


def identities_per_group(
    ids: list[str] | np.ndarray, groups: dict[str, str], unknown: str = "unknown"
) -> dict[str, int]:
    """{group: distinct identities among `ids`} (mated and non-mated searches together)."""
    seen: dict[str, set[str]] = {}
    for i in ids:
        seen.setdefault(groups.get(str(i), unknown), set()).add(str(i))
    return {g: len(v) for g, v in sorted(seen.items())}


def size_caveats(sizes: dict[str, int], minimum: int) -> list[str]:
    """A note per group with fewer than `minimum` identities: reported, not judged."""
    return [
        f"group {g!r} has {n} identities (fewer than {minimum}): its rates are reported with "
        "their CI but are too small to judge; a difference involving it is not evidence either "
        "way"
        for g, n in sizes.items()
        if n < minimum
    ]
