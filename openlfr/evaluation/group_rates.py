"""Per-group FNIR/FPIR of one half's outcome at its operating threshold (issue 12 item 2).

The threshold is the half's own at FPIR 0.1% (the operating point the benchmarks report), the
same for every group: nothing is keyed on a group. Groups come from an identities CSV column
(gender_from_name on LFW: a NOISY proxy inferred from first names, not self-reported).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from openlfr.evaluation import levers as lv
from openlfr.evaluation import metrics
from openlfr.evaluation.identify import Searches, _by_group
from openlfr.evaluation.improvements import Outcome
from openlfr.evaluation.per_identity import per_identity_fnir

OPERATING_FPIR = 0.001


def per_group(
    h: lv.Half,
    o: Outcome,
    ok: np.ndarray,
    groups: dict[str, str],
    resamples: int,
    leave_one_out: bool,
    column: str = "gender_from_name",
    *,
    nonmated_ids: list[str] | None = None,
    fpir: float = OPERATING_FPIR,
) -> dict[str, Any]:
    """Rates with bootstrap CIs per group at the threshold at `fpir`, the FNIR/FPIR
    comparisons and eval identify's verdict, plus each group's mean per-identity FNIR (a few
    people missed on every image weigh less there). `nonmated_ids`: whose each non-mated
    search is, when `o` holds more than the half's own (cross_impostors)."""
    s = Searches(
        [str(i) for i in h.ids[h.split.mated]],
        np.where(np.isfinite(o.mated_score), o.mated_score, -1e9),
        o.mated_rank1,
        nonmated_ids or lv.nonmated_identities(h, ok, leave_one_out),
        np.where(np.isfinite(o.nonmated_score), o.nonmated_score, -1e9),
        {},
        {},
    )
    t = metrics.threshold_at_rate(s.nonmated_score, fpir)
    by, eq, _ = _by_group(s, groups, column, t, fpir, resamples)
    keep = ("fnir_at_threshold", "fpir_at_threshold", "ci95", "counts", "identities")
    fnir = [c for c in eq["comparisons"] if c["metric"] == "fnir"]
    fpir_c = [c for c in eq["comparisons"] if c["metric"] == "fpir"]
    per_id = per_identity_fnir(s.mated_ids, s.misses(t), groups, "unknown", resamples)
    return {
        "threshold": t,
        "fnir_per_identity_mean": {g: v["fnir"] for g, v in per_id["groups"].items()},
        "per_identity": per_id,
        "groups": {g: {k: v[k] for k in keep} for g, v in by.items()},
        "fnir_comparison": fnir[0] if fnir else None,
        "fpir_comparison": fpir_c[0] if fpir_c else None,
        "verdict": eq["verdict"],
    }
