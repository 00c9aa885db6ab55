"""FNIR averaged over identities, beside `eval identify`'s per-search FNIR (issue 12 item 2).

Per search, a group's FNIR is its misses over its mated searches, so a person with many images
counts many times: on LFW a few much-photographed people (hundreds of images, almost never
missed) pull their group's rate down. Averaged per identity, every person counts once, which
answers "how often is a wanted member of this group missed" when every wanted person matters
equally. Both are reported, at the same threshold; the NPL verdict stays the per-search one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from openlfr.evaluation import metrics

METHOD = (
    "FNIR of each identity (its misses over its mated searches) averaged over the group's "
    "identities, at the same operating threshold; 95% percentile bootstrap CIs resampling "
    "identities; a difference is significant when the 95% CI of (worse - better) excludes 0"
)


def identity_counts(ids: Sequence[str], events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(events, searches) summed per identity (sorted by identity), for a bootstrap over
    identities."""
    names, inv = np.unique(np.asarray(ids, dtype=object).astype(str), return_inverse=True)
    ev = np.bincount(inv, weights=events.astype(np.float64), minlength=names.size)
    tr = np.bincount(inv, minlength=names.size).astype(np.float64)
    return ev, tr


def identity_rates(ids: Sequence[str], events: np.ndarray) -> np.ndarray:
    """Each identity's share of its searches with an event (sorted by identity)."""
    ev, tr = identity_counts(ids, events)
    return ev / tr


def _ci(boot: np.ndarray, rates: np.ndarray) -> list[float]:
    # All zero (or all one): every resample is the same, so take the exact bound over identities.
    if 0.0 < rates.sum() < rates.size:
        return list(metrics.percentile_ci(boot))
    return list(metrics.rate_ci(boot, float(rates.sum()), float(rates.size)))


def per_identity_fnir(
    mated_ids: Sequence[str],
    misses: np.ndarray,
    groups: Mapping[str, str],
    unknown: str,
    resamples: int,
) -> dict[str, Any]:
    """Per group: mean per-identity FNIR with its CI; the labelled groups compared in pairs."""
    ids = np.asarray(mated_ids, dtype=object).astype(str)
    grp = np.array([groups.get(i, unknown) for i in ids], dtype=object)
    found: dict[str, Any] = {}
    boots: dict[str, np.ndarray] = {}
    for gi, g in enumerate(sorted(set(grp))):
        sel = grp == g
        rates = identity_rates(ids[sel], misses[sel])
        boots[g] = metrics.bootstrap_rates(
            rates, np.ones_like(rates), resamples=resamples, seed=7000 + gi
        )
        found[g] = {
            "fnir": float(rates.mean()),
            "ci95": _ci(boots[g], rates),
            "identities": int(rates.size),
        }
    comparisons: list[dict[str, Any]] = []
    findings: list[str] = []
    for a, b in combinations([g for g in found if g != unknown], 2):
        if found[a]["fnir"] < found[b]["fnir"]:  # put the worse-faring group first
            a, b = b, a
        c = metrics.compare_rates(a, boots[a], found[a]["fnir"], b, boots[b], found[b]["fnir"])
        comparisons.append(c.as_entry("fnir_per_identity"))
        if c.significant:
            findings.append(c.finding("fnir per identity"))
    if not comparisons:
        verdict = "fewer than two labelled groups: nothing to compare"
    else:
        verdict = "; ".join(findings) or "no statistically significant difference per identity"
    return {"method": METHOD, "groups": found, "comparisons": comparisons, "verdict": verdict}
