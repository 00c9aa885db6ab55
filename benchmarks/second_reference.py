"""Does "weak reference: enrol another image" help, and whom? LFW 1:N on the REPORT half.

    python benchmarks/second_reference.py [--root DIR] [--identities CSV] [--out out/bench]
                                          [--quick]

The weak-reference floor is TUNE's 10th percentile of its references' mirror agreement (as
benchmarks/accuracy.py and settings.scoring.weak_reference_below); everything below is measured
on REPORT. Each entry with two or more further images gets a spare: the first of them not
itself weak (an operator enrolling until the warning goes), taken out of the probes in EVERY
arm, so all arms score the same mated searches (and the same leave-one-out non-mated ones).
Arms: one reference (as now); weak entries get the spare as a second reference, scored as the
live gallery does (the better of the two, each z-normed on its own), or averaged into one
template, or swapped for it; and every entry with a spare gets it (the policy "two images for
everyone", for scale). Per arm: TPIR at FPIR 0.1% with a 95% bootstrap CI over identities,
FNIR of the weak entries' searches and of the rest, and per group (gender_from_name: a NOISY
proxy from first names) FNIR, FPIR and the FNIR ratio worse/better with its CI. Writes
OUT/second-reference.md and .json. Reads the evaluation cache (accuracy.py fills it).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lfw_cli import lfw_main, ratio_cell, weak_table  # noqa: E402

from openlfr.config import VisionSettings  # noqa: E402
from openlfr.evaluation import group_rates  # noqa: E402
from openlfr.evaluation import improvements as imp  # noqa: E402
from openlfr.evaluation import levers as lv  # noqa: E402
from openlfr.evaluation import weak_references as wr  # noqa: E402
from openlfr.evaluation.identify import build_set, read_groups  # noqa: E402
from openlfr.vision.sface import normalise  # noqa: E402

BASES = ("raw cosine", "cohort z-norm")


def scorer(base: str, p: np.ndarray, templates: np.ndarray, cohort: np.ndarray) -> lv.Scorer:
    if base == "raw cosine":
        return lv.Scorer(p, templates)
    return lv.Scorer(p, templates, lv.cohort_znorm(templates, cohort))


def arms(
    h: lv.Half, base: str, p: np.ndarray, spares: wr.Spares, weak: np.ndarray
) -> dict[str, Any]:
    """Each arm's score function for `lv.run_scores`, on the half without its spare images."""
    c = p[h.cohort]
    one = p[h.split.gallery]
    has = spares.image >= 0
    spare = np.where(has[:, None], p[np.maximum(spares.image, 0)], one)
    rescue = weak & has
    first = scorer(base, p, one, c)

    mean = np.where(rescue[:, None], normalise(one + spare), one)
    swap = np.where(rescue[:, None], spare, one)
    second = scorer(base, p, spare, c)
    return {
        "one reference (as now)": lv.score_fn(h, first),
        "weak: + second image, best of the two": wr.best_of(h, first, second, rescue),
        "weak: + second image, averaged template": lv.score_fn(h, scorer(base, p, mean, c)),
        "weak: swapped for the second image": lv.score_fn(h, scorer(base, p, swap, c)),
        "everyone with a spare: best of the two": wr.best_of(h, first, second, has),
    }


def measure(root: Path, groups_csv: Path, resamples: int) -> dict[str, Any]:
    data = build_set(root)
    paths = [p for _, p in data.gallery + data.mated + data.nonmated]
    feats = imp.image_features(paths, VisionSettings())
    ok, p = feats.ok, feats.plain
    agreement = np.sum(feats.plain * feats.mirror, axis=1)  # unit rows: the cosine
    floor = float(np.percentile(agreement[lv.half_split(data, lv.TUNE, ok).split.gallery], 10))
    groups = read_groups(groups_csv, "gender_from_name")
    full = lv.half_split(data, lv.REPORT, ok)
    spares = wr.spare_images(full, agreement, ok, floor)
    h = wr.without_spares(full, spares)
    weak = wr.weak_entries(h, agreement, floor)
    rescuable = weak & (spares.image >= 0)
    res: dict[str, Any] = {
        "floor": floor,
        "entries": int(h.split.gallery.size),
        "weak": int(weak.sum()),
        "weak_with_spare": int((weak & (spares.image >= 0)).sum()),
        "weak_with_strong_spare": int((weak & spares.strong).sum()),
        "with_spare": int((spares.image >= 0).sum()),
        "mated": int(h.split.mated.size),
        "bases": {},
    }
    mated_ids = [str(i) for i in h.ids[h.split.mated]]
    nonmated_ids = lv.nonmated_identities(h, ok, True)
    for base in BASES:
        rows: dict[str, Any] = {}
        for name, score_rows in arms(h, base, p, spares, weak).items():
            o = lv.run_scores(h, score_rows, ok, leave_one_out=True)
            rows[name] = {
                "summary": lv.summary_with_ci(o, mated_ids, resamples, nonmated_ids=nonmated_ids),
                "weak": wr.weak_references(h, agreement, o, floor, groups, weak),
                "rescuable": wr.weak_references(h, agreement, o, floor, groups, rescuable),
                "per_group": group_rates.per_group(h, o, ok, groups, resamples, True),
            }
        res["bases"][base] = rows
    # The probe side, on the searches as they are (one reference): do weak probes miss too?
    one = lv.run_scores(h, arms(h, BASES[0], p, spares, weak)["one reference (as now)"], ok, True)
    res["weak_probes"] = wr.weak_probes(h, agreement, one, floor, groups)
    res.update(date=datetime.now(UTC).isoformat(timespec="seconds"), root=str(root))
    return res


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1%}"


def markdown(res: dict[str, Any]) -> str:
    lines = [
        f"REPORT half, {res['entries']} entries, {res['mated']} mated searches (the same in "
        f"every arm), FPIR 0.1% (leave-one-out non-mated). Weak: mirror agreement below "
        f"{res['floor']:.4f} (TUNE's 10th percentile): {res['weak']} entries, "
        f"{res['weak_with_spare']} of them with a spare image ({res['weak_with_strong_spare']} "
        f"not itself weak); {res['with_spare']} entries have a spare. Groups: "
        "gender_from_name (noisy proxy).",
        "",
        "| scoring | arm | TPIR @ 0.1% (95% CI) | FNIR, weak entries | of them with a spare "
        "| FNIR, the rest | FNIR F / M | FNIR ratio worse/better (CI) | FPIR F / M |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for base, rows in res["bases"].items():
        for name, v in rows.items():
            s, w, pg = v["summary"], v["weak"]["by_group"]["all"], v["per_group"]
            r = v["rescuable"]["by_group"]["all"]
            lo, hi = s["tpir@0.001_ci95"]
            g = pg["groups"]
            fn = " / ".join(_pct(g[k]["fnir_at_threshold"]) if k in g else "n/a" for k in "FM")
            fp = " / ".join(f"{g[k]['fpir_at_threshold']:.2%}" if k in g else "n/a" for k in "FM")
            ratio = ratio_cell(pg["fnir_comparison"])
            lines.append(
                f"| {base} | {name} | {s['tpir@0.001']:.2%} ({lo:.1%}-{hi:.1%}) | "
                f"{_pct(w['fnir_weak'])} of {w['weak_searches']} | "
                f"{_pct(r['fnir_weak'])} of {r['weak_searches']} | {_pct(w['fnir_rest'])} | "
                f"{fn} | {ratio} | {fp} |"
            )
    wp = res["weak_probes"]
    lines += [
        "",
        f"Probe side ({BASES[0]}, one reference): mated searches whose probe image agrees with "
        f"its mirror image less than the floor hold {wp['share_of_misses']:.0%} of the misses. "
        "Live, a track's views could be weighed by it; LFW's tracks (about 40 per half) are "
        "too few to measure that.",
        "",
        *weak_table(wp["by_group"], "probe"),
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    return lfw_main(
        __doc__, "second-reference", "A second reference image",
        lambda a: measure(a.root, a.identities, a.resamples), markdown,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
