"""Weak references, and what a second reference image does for them (issue 12 item 2).

A reference is weak when its face's embedding agrees with its mirror image's less than a floor
(matching/reference_strength.py); enrolment then advises "enrol another image". Here:
`weak_references` says how many of a half's misses sit on weak references; `spare_images` picks,
per entry with at least two further images, the one an operator following that advice would add
(the first not itself weak) and takes it out of the probes, so every way of using it is scored
on the same searches; `best_of` scores an entry by the better of its two references, as the live
gallery takes the best score per subject (matching/gallery.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from openlfr.evaluation import levers as lv
from openlfr.evaluation import metrics
from openlfr.evaluation.group_rates import OPERATING_FPIR
from openlfr.evaluation.improvements import Outcome, Split


def misses(o: Outcome, rate: float = OPERATING_FPIR) -> np.ndarray:
    """Per mated search: missed at the threshold where a fraction `rate` of non-mated
    searches alert (not rank 1, or below that threshold)."""
    n = np.where(np.isfinite(o.nonmated_score), o.nonmated_score, -1e9)
    return ~(o.mated_rank1 & (o.mated_score >= metrics.threshold_at_rate(n, rate)))


def weak_entries(h: lv.Half, agreement: np.ndarray, floor: float) -> np.ndarray:
    """Per gallery row of the half: its reference's mirror agreement is below `floor`."""
    return np.asarray(agreement[h.split.gallery] < floor, bool)


def weak_references(
    h: lv.Half,
    agreement: np.ndarray,
    o: Outcome,
    floor: float,
    groups: dict[str, str],
    weak: np.ndarray | None = None,
) -> dict[str, Any]:
    """Misses at FPIR 0.1% of the searches whose entry is weak (default: its reference agrees
    with its mirror image less than `floor`), against the rest, overall and by group."""
    weak_rows = weak_entries(h, agreement, floor) if weak is None else weak
    miss = misses(o)
    on_weak = weak_rows[h.split.mate_index]
    return {
        "floor": floor,
        "references": int(h.split.gallery.size),
        "weak_references": int(weak_rows.sum()),
        "share_of_misses": float(miss[on_weak].sum() / max(1, miss.sum())),
        "by_group": _by_group(h, miss, on_weak, groups),
    }


def weak_probes(
    h: lv.Half, agreement: np.ndarray, o: Outcome, floor: float, groups: dict[str, str]
) -> dict[str, Any]:
    """The same split on the probe side: mated searches whose PROBE image agrees with its
    mirror image less than `floor`, against the rest."""
    miss = misses(o)
    on_weak = np.asarray(agreement[h.split.mated] < floor, bool)
    return {
        "floor": floor,
        "share_of_misses": float(miss[on_weak].sum() / max(1, miss.sum())),
        "by_group": _by_group(h, miss, on_weak, groups),
    }


def _by_group(
    h: lv.Half, miss: np.ndarray, on_weak: np.ndarray, groups: dict[str, str]
) -> dict[str, Any]:
    """Per group (and "all") of the mated searches: how many, how many weak, FNIR overall,
    of the weak ones and of the rest (None where there are none)."""
    group = np.array([groups.get(str(i), "unknown") for i in h.ids[h.split.mated]])
    out: dict[str, Any] = {}
    for g in ["all", *sorted(set(group))]:
        sel = np.ones(group.size, bool) if g == "all" else group == g
        out[g] = {
            "searches": int(sel.sum()),
            "weak_searches": int((sel & on_weak).sum()),
            "fnir": float(miss[sel].mean()) if sel.any() else None,
            "fnir_weak": float(miss[sel & on_weak].mean()) if (sel & on_weak).any() else None,
            "fnir_rest": float(miss[sel & ~on_weak].mean()) if (sel & ~on_weak).any() else None,
        }
    return out


@dataclass(frozen=True)
class Spares:
    """The second reference image each entry could have, and the probes left once it has."""

    image: np.ndarray  # per gallery row: the flat row of its spare image, -1 when none
    strong: np.ndarray  # per gallery row: that spare is not itself weak
    probe_kept: np.ndarray  # per mated search of the half: still a probe (not a spare)


def spare_images(h: lv.Half, agreement: np.ndarray, ok: np.ndarray, floor: float) -> Spares:
    """Per entry whose reference has a face and which has two or more further images with one:
    the first of them not itself weak (else the first), so that one image stays a probe."""
    ng = h.split.gallery.size
    image = np.full(ng, -1, np.int64)
    strong = np.zeros(ng, bool)
    kept = np.ones(h.split.mated.size, bool)
    usable = ok[h.split.mated]
    for k in np.flatnonzero(ok[h.split.gallery]):
        pos = np.flatnonzero((h.split.mate_index == k) & usable)
        if pos.size < 2:
            continue
        good = pos[agreement[h.split.mated[pos]] >= floor]
        pick = int(good[0]) if good.size else int(pos[0])
        image[k], strong[k], kept[pick] = h.split.mated[pick], good.size > 0, False
    return Spares(image, strong, kept)


def without_spares(h: lv.Half, spares: Spares) -> lv.Half:
    """The half with the spare images taken out of its probes (mated and leave-one-out)."""
    s, k = h.split, spares.probe_kept
    return replace(h, split=Split(s.gallery, s.mated[k], s.nonmated, s.mate_index[k]))


def best_of(
    h: lv.Half, first: lv.Scorer, second: lv.Scorer, use_second: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """Scores for `lv.run_scores`: per entry, the better of its two references' scores where
    `use_second` (per gallery row), else the first's alone."""

    def score_rows(rows: np.ndarray) -> np.ndarray:
        a = lv.scores(h, first, rows, None)
        b = lv.scores(h, second, rows, None)
        return np.where(use_second[None, :], np.maximum(a, b), a)

    return score_rows
