"""`openlfr eval identify`: open-set 1:N identification, scored as NIST FRTE scores it, with
per-group rates and an equitability verdict following the NPL method.

Protocol, on a folder `DIR/<identity>/<images>` (images sorted by file name):

* Gallery: the first image of every identity that has two or more images.
* Mated probes: those identities' other images. A mated search is a hit at threshold T when the
  mate is the rank-1 candidate AND its score is >= T. TPIR = hits / mated searches; FNIR = 1 - TPIR.
* Non-mated probes: every image of the identities with exactly one image. A non-mated search is a
  false positive at T when its top-1 score is >= T. FPIR = false positives / non-mated searches.
* TPIR at FPIR x: T is the threshold that a fraction x of the non-mated top-1 scores reach
  (`metrics.threshold_at_rate`); rank-1 is the fraction of mated searches whose mate is rank 1 at
  any score.

Failures to enrol (no face found, or an unreadable file), counted in `failures_to_enrol`:
* a gallery image: that identity is left out of the gallery; its mated probes still count, and
  every one of them is a miss (its mate cannot be found);
* a mated probe: a non-detection, counted as a miss;
* a non-mated probe: a non-detection, which raises no alert, so it is NOT a false positive; it
  still counts in the FPIR denominator.

Equitability (NPL's method, as used for the Met's system): FPIR and FNIR of each group at ONE
operating threshold - by default the overall threshold at FPIR 0.001 - with 95% bootstrap
confidence intervals resampling identities (a person's searches stay together), and for each pair
of labelled groups the bootstrap CI of the difference (and of the ratio). A difference counts as
statistically significant when its 95% CI excludes 0. Identities with no label in the group column
form the group "unknown", reported but left out of the comparisons. Beside it, FNIR averaged per
identity (`equitability.per_identity`, evaluation/per_identity.py), where every person counts
once however many images they have.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from openlfr.config import VisionSettings
from openlfr.errors import OpenLFRError
from openlfr.evaluation import metrics
from openlfr.evaluation.det_plot import plot_det
from openlfr.evaluation.embedding_cache import ProgressFn, embed_files
from openlfr.evaluation.equality import (
    GRID,
    identities_per_group,
    rates_by_threshold,
    size_caveats,
)
from openlfr.evaluation.per_identity import identity_counts, per_identity_fnir
from openlfr.evaluation.video import IMAGE_SUFFIXES

UNKNOWN = "unknown"
OPERATING_FPIR = 0.001
PROXY_NOTE = (
    "gender_from_name is a noisy proxy inferred from first names by an online service "
    "(>= 90% confidence, blank where unknown), not self-reported gender: read per-group "
    "figures with that in mind"
)


class IdentifyInputError(OpenLFRError, ValueError):
    """The identification folder or the identities CSV cannot be used."""


@dataclass
class IdentifySet:
    gallery: list[tuple[str, Path]] = field(default_factory=list)
    mated: list[tuple[str, Path]] = field(default_factory=list)
    nonmated: list[tuple[str, Path]] = field(default_factory=list)


def build_set(root: Path) -> IdentifySet:
    if not root.is_dir():
        raise IdentifyInputError(f"{root}: folder not found")
    out = IdentifySet()
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(
            p
            for p in d.iterdir()
            if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
        )
        if len(files) == 1:
            out.nonmated.append((d.name, files[0]))
        elif len(files) >= 2:
            out.gallery.append((d.name, files[0]))
            out.mated.extend((d.name, f) for f in files[1:])
    if not out.gallery and not out.nonmated:
        raise IdentifyInputError(f"{root}: no images found in DIR/<identity>/ sub-folders")
    if not out.gallery:
        raise IdentifyInputError(f"{root}: no identity has two or more images, so no gallery")
    if not out.nonmated:
        raise IdentifyInputError(
            f"{root}: no identity has exactly one image, so no non-mated probes (FPIR)"
        )
    return out


def read_groups(csv_path: Path, column: str) -> dict[str, str]:
    """{identity: group} from a CSV with an `identity` column; blanks become "unknown"."""
    if not csv_path.is_file():
        raise IdentifyInputError(f"{csv_path}: identities file not found")
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in (reader.fieldnames or [])]
        if not cols:
            raise IdentifyInputError(f"{csv_path}: empty file (expected a header row)")
        for need in ("identity", column):
            if need not in cols:
                raise IdentifyInputError(
                    f"{csv_path} line 1: no column {need!r} (columns: {', '.join(cols)})"
                )
        reader.fieldnames = cols
        return {
            (row["identity"] or "").strip(): (row[column] or "").strip() or UNKNOWN
            for row in reader
        }


@dataclass(frozen=True)
class Searches:
    """The outcome of every search: mated (top-1 score, mate at rank 1) and non-mated."""

    mated_ids: list[str]
    mated_score: np.ndarray  # float64 top-1 score (LOWEST_SCORE for a non-detection)
    mated_rank1: np.ndarray  # bool
    nonmated_ids: list[str]
    nonmated_score: np.ndarray  # float64 top-1 score
    failures: dict[str, int]
    reasons: dict[str, str]

    def misses(self, threshold: float) -> np.ndarray:
        return ~(self.mated_rank1 & (self.mated_score >= threshold))


def search(
    data: IdentifySet,
    vision: VisionSettings,
    *,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
) -> Searches:
    paths = [p for _, p in data.gallery + data.mated + data.nonmated]
    emb = embed_files(paths, vision, use_cache=use_cache, cache_dir=cache_dir, progress=progress)
    ng, nm = len(data.gallery), len(data.mated)
    g_ok = emb.ok[:ng]
    gallery = emb.vectors[:ng][g_ok]
    g_ids = np.array([i for (i, _), ok in zip(data.gallery, g_ok) if ok])

    def top1(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        if gallery.shape[0] == 0:
            return np.full(hi - lo, metrics.LOWEST_SCORE), np.full(hi - lo, "", dtype=object)
        sims = emb.vectors[lo:hi] @ gallery.T
        best = np.argmax(sims, axis=1)
        score = sims[np.arange(hi - lo), best].astype(np.float64)
        score[~emb.ok[lo:hi]] = metrics.LOWEST_SCORE
        return score, g_ids[best]

    m_score, m_who = top1(ng, ng + nm)
    mated_ids = [i for i, _ in data.mated]
    rank1 = (m_who == np.array(mated_ids, dtype=object)) & emb.ok[ng : ng + nm]
    n_score, _ = top1(ng + nm, len(paths))
    failures = {
        "gallery": int(np.count_nonzero(~g_ok)),
        "mated_probes": int(np.count_nonzero(~emb.ok[ng : ng + nm])),
        "nonmated_probes": int(np.count_nonzero(~emb.ok[ng + nm :])),
    }
    return Searches(
        mated_ids,
        m_score,
        rank1.astype(bool),
        [i for i, _ in data.nonmated],
        n_score,
        failures,
        emb.reasons,
    )


def _rates_at(s: Searches, mated: np.ndarray, nonmated: np.ndarray) -> dict[str, Any]:
    """TPIR at each FPIR, and the thresholds, for the selected searches."""
    if not mated.any() or not nonmated.any():
        return {"tpir_at_fpir": None, "thresholds": None}
    nm_scores = s.nonmated_score[nonmated]
    ths = {metrics.rate_key(r): metrics.threshold_at_rate(nm_scores, r) for r in metrics.RATES}
    hits = {k: float(np.mean(~s.misses(t)[mated])) for k, t in ths.items()}
    return {"tpir_at_fpir": hits, "thresholds": ths}


def evaluate_identify(
    root: Path,
    vision: VisionSettings,
    *,
    groups_csv: Path | None = None,
    group_by: str | None = None,
    operating_fpir: float = OPERATING_FPIR,
    resamples: int = 2000,
    use_cache: bool = True,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    plot: Path | None = None,
) -> dict[str, Any]:
    if (groups_csv is None) != (group_by is None):
        raise IdentifyInputError("--identities and --group-by go together: give both or neither")
    groups = read_groups(groups_csv, group_by) if groups_csv and group_by else None
    data = build_set(root)
    s = search(data, vision, use_cache=use_cache, cache_dir=cache_dir, progress=progress)
    all_m = np.ones(len(s.mated_ids), bool)
    all_n = np.ones(len(s.nonmated_ids), bool)
    overall = _rates_at(s, all_m, all_n)
    op_t = metrics.threshold_at_rate(s.nonmated_score, operating_fpir)
    out: dict[str, Any] = {
        "gallery": len(data.gallery),
        "mated_probes": len(data.mated),
        "nonmated_probes": len(data.nonmated),
        "rank1": float(np.mean(s.mated_rank1)),
        "tpir_at_fpir": overall["tpir_at_fpir"],
        "thresholds": overall["thresholds"],
        "by_group": {},
        "failures_to_enrol": s.failures,
        "failed_images": dict(sorted(s.reasons.items())),
        "notes": metrics.unmeasurable("FPIR overall", len(data.nonmated)),
    }
    curves = {"all": (s.nonmated_score, s.mated_score, s.mated_rank1)}
    if groups is not None and group_by is not None:
        out["by_group"], out["equitability"], group_curves = _by_group(
            s, groups, group_by, op_t, operating_fpir, resamples
        )
        out["equitability"]["per_identity"] = per_identity_fnir(
            s.mated_ids, s.misses(op_t), groups, UNKNOWN, resamples
        )
        curves.update(group_curves)
        out["grid"], out["by_group_at_thresholds"] = list(GRID), rates_by_threshold(
            np.array([groups.get(i, UNKNOWN) for i in s.mated_ids], dtype=object),
            np.array([groups.get(i, UNKNOWN) for i in s.nonmated_ids], dtype=object),
            lambda t: ~s.misses(t), s.nonmated_score)  # fmt: skip
        for g, entry in out["by_group"].items():
            out["notes"] += metrics.unmeasurable(f"FPIR in {g}", entry["counts"]["nonmated_probes"])
    if plot is not None:
        by = f", by {group_by}" + (" (noisy proxy)" if group_by == "gender_from_name" else "")
        plot_det(curves, op_t, plot, title=f"DET, open-set 1:N{by if groups else ''}")
    return out


def _by_group(
    s: Searches,
    groups: dict[str, str],
    column: str,
    op_t: float,
    op_fpir: float,
    resamples: int,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    m_grp = np.array([groups.get(i, UNKNOWN) for i in s.mated_ids], dtype=object)
    n_grp = np.array([groups.get(i, UNKNOWN) for i in s.nonmated_ids], dtype=object)
    misses = s.misses(op_t)
    fps = s.nonmated_score >= op_t
    sizes = identities_per_group(list(s.mated_ids) + list(s.nonmated_ids), groups, UNKNOWN)
    by: dict[str, Any] = {}
    boots: dict[tuple[str, str], np.ndarray] = {}
    curves: dict[str, Any] = {}
    for gi, g in enumerate(sorted(set(m_grp) | set(n_grp))):
        mm, nn = m_grp == g, n_grp == g
        rates = _rates_at(s, mm, nn)
        entry: dict[str, Any] = {"tpir_at_fpir": rates["tpir_at_fpir"]}
        entry["fpir_at_threshold"] = float(np.mean(fps[nn])) if nn.any() else None
        entry["fnir_at_threshold"] = float(np.mean(misses[mm])) if mm.any() else None
        ci: dict[str, Any] = {}
        for mi, (metric, sel, ev, ids) in enumerate(
            (("fpir", nn, fps, s.nonmated_ids), ("fnir", mm, misses, s.mated_ids))
        ):
            uid = [i for i, keep in zip(ids, sel) if keep]
            e, t = identity_counts(uid, ev[sel])
            b = metrics.bootstrap_rates(e, t, resamples=resamples, seed=1000 * gi + mi)
            boots[(g, metric)] = b
            ci[metric] = list(metrics.rate_ci(b, e.sum(), t.sum())) if uid else None
        entry["ci95"] = ci
        entry["thresholds"] = rates["thresholds"]
        entry["identities"] = sizes.get(g, 0)
        entry["too_small_to_judge"] = metrics.too_small_to_judge(entry["identities"])
        entry["counts"] = {
            "mated_probes": int(mm.sum()),
            "nonmated_probes": int(nn.sum()),
            "false_positives": int(fps[nn].sum()),
            "misses": int(misses[mm].sum()),
        }
        by[g] = entry
        if mm.any() and nn.any():
            curves[g] = (s.nonmated_score[nn], s.mated_score[mm], s.mated_rank1[mm])
    eq = _equitability(by, boots, column, op_t, op_fpir, resamples)
    eq["too_small_to_judge"] = [g for g in by if by[g]["too_small_to_judge"]]
    eq["caveats"] += size_caveats(sizes, metrics.MIN_GROUP_IDENTITIES)
    return by, eq, curves


def _equitability(
    by: dict[str, Any],
    boots: dict[tuple[str, str], np.ndarray],
    column: str,
    op_t: float,
    op_fpir: float,
    resamples: int,
) -> dict[str, Any]:
    labelled = [g for g in by if g != UNKNOWN]
    comparisons: list[dict[str, Any]] = []
    findings: list[str] = []
    for metric, key in (("fpir", "fpir_at_threshold"), ("fnir", "fnir_at_threshold")):
        for a, b in combinations(labelled, 2):
            ra, rb = by[a][key], by[b][key]
            if ra is None or rb is None:
                continue
            if ra < rb:  # put the worse-faring group first
                a, b, ra, rb = b, a, rb, ra
            c = metrics.compare_rates(a, boots[(a, metric)], ra, b, boots[(b, metric)], rb)
            comparisons.append(c.as_entry(metric))
            if c.significant:
                findings.append(c.finding(metric))
    if len(labelled) < 2:
        verdict = "fewer than two labelled groups: nothing to compare"
    elif findings:
        verdict = "; ".join(findings)
    else:
        verdict = "no statistically significant difference at this threshold"
    fp_total = sum(by[g]["counts"]["false_positives"] for g in labelled)
    eq: dict[str, Any] = {
        "group_by": column,
        "operating_threshold": op_t,
        "threshold_source": f"overall threshold at FPIR {op_fpir:g} (all groups together)",
        "method": (
            "NPL: per-group FPIR and FNIR at one operating threshold; 95% percentile bootstrap "
            f"CIs ({resamples} resamples of identities, each group independently); a difference "
            "is significant when the 95% CI of (worse - better) excludes 0"
        ),
        "groups_compared": labelled,
        "groups_not_compared": [g for g in by if g == UNKNOWN],
        "comparisons": comparisons,
        "verdict": verdict,
        "caveats": [
            f"FPIR at this threshold rests on {fp_total} false positive(s) across the compared "
            "groups: with so few events only large differences can be shown significant"
        ],
    }
    if column == "gender_from_name":
        eq["note"] = PROXY_NOTE
    return eq
