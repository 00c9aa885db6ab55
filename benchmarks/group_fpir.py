"""Do false alerts fall equally on women and men? LFW 1:N on the REPORT half, with impostors.

    python benchmarks/group_fpir.py [--root DIR] [--identities CSV] [--out out/bench] [--quick]

On the REPORT half alone FPIR 0.1% rests on two or three false positives and none is a woman's
search, so the FPIR ratio between groups cannot be measured (benchmarks/accuracy.py says so).
Here the REPORT gallery is also searched by every image of the TUNE half's identities (people
on no REPORT gallery; its z-norm cohort images left out), besides REPORT's own non-mated and
leave-one-out searches: several thousand impostor searches. Nothing is chosen on them. The one
operating threshold (FPIR 0.1%, and 1% for more events) comes from all non-mated searches
together, the same for every group. Per scoring (raw SFace cosine; flip TTA + cohort z-norm,
the lever accuracy.py keeps): TPIR with a 95% bootstrap CI, and per group (gender_from_name, a
NOISY proxy from first names) FPIR and FNIR with CIs, false positives counted, the ratio
worse/better with its CI and eval identify's verdict, beside the figures from REPORT's own
searches only. Writes OUT/group-fpir.md and .json. Reads the evaluation cache.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lfw_cli import lfw_main, ratio_cell  # noqa: E402

from openlfr.config import VisionSettings  # noqa: E402
from openlfr.evaluation import group_rates  # noqa: E402
from openlfr.evaluation import improvements as imp  # noqa: E402
from openlfr.evaluation import levers as lv  # noqa: E402
from openlfr.evaluation.cross_impostors import other_half_rows, with_impostors  # noqa: E402
from openlfr.evaluation.identify import build_set, read_groups  # noqa: E402

RATES = (0.001, 0.01)


def scorers(h: lv.Half, feats: imp.Features) -> dict[str, lv.Scorer]:
    g, c = h.split.gallery, h.cohort
    p, fl = feats.plain, feats.flip()
    return {
        "raw SFace cosine": lv.Scorer(p, p[g]),
        "flip TTA + cohort z-norm (kept)": lv.Scorer(fl, fl[g], lv.cohort_znorm(fl[g], fl[c])),
    }


def measure(root: Path, groups_csv: Path, resamples: int) -> dict[str, Any]:
    data = build_set(root)
    paths = [p for _, p in data.gallery + data.mated + data.nonmated]
    feats = imp.image_features(paths, VisionSettings())
    ok = feats.ok
    groups = read_groups(groups_csv, "gender_from_name")
    h = lv.half_split(data, lv.REPORT, ok)
    impostors = other_half_rows(h, ok, lv.REPORT)
    mated_ids = [str(i) for i in h.ids[h.split.mated]]
    res: dict[str, Any] = {"mated": int(h.split.mated.size), "impostors": int(impostors.size)}
    res["scorings"] = {}
    for name, sc in scorers(h, feats).items():
        rows = lv.score_fn(h, sc)
        own = lv.run_scores(h, rows, ok, leave_one_out=True)
        wide, wide_ids = with_impostors(h, rows, ok, impostors)
        entry: dict[str, Any] = {"own_nonmated": int(own.nonmated_score.size)}
        entry["nonmated"] = int(wide.nonmated_score.size)
        entry["summary"] = lv.summary_with_ci(wide, mated_ids, resamples, nonmated_ids=wide_ids)
        for rate in RATES:
            entry[f"own@{rate:g}"] = group_rates.per_group(
                h, own, ok, groups, resamples, True, fpir=rate
            )
            entry[f"wide@{rate:g}"] = group_rates.per_group(
                h, wide, ok, groups, resamples, True, nonmated_ids=wide_ids, fpir=rate
            )
        res["scorings"][name] = entry
    res.update(date=datetime.now(UTC).isoformat(timespec="seconds"), root=str(root))
    return res


def _rate(g: dict[str, Any], key: str, metric: str, count: str) -> str:
    v, ci = g.get(key), (g.get("ci95") or {}).get(metric)
    if v is None:
        return "n/a"
    span = f" ({ci[0]:.2%}-{ci[1]:.2%})" if ci else ""
    return f"{v:.2%}{span}, {g['counts'][count]}"


def markdown(res: dict[str, Any]) -> str:
    lines = [
        f"REPORT half: {res['mated']} mated searches; non-mated: REPORT's own (one-image people "
        f"and leave-one-out) plus {res['impostors']} images of TUNE identities. Groups: "
        "gender_from_name (noisy proxy). Cells: rate (95% CI), events.",
        "",
        "| scoring | non-mated searches | at FPIR | TPIR (95% CI) | FPIR F | FPIR M "
        "| FPIR ratio (CI) | FNIR F | FNIR M | FNIR ratio (CI) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, e in res["scorings"].items():
        s = e["summary"]
        for rate in RATES:
            for side, count in (("own", e["own_nonmated"]), ("wide", e["nonmated"])):
                pg = e[f"{side}@{rate:g}"]
                g = pg["groups"]
                tpir = "-"
                if side == "wide":
                    k = f"tpir@{rate:g}"
                    lo, hi = s[f"{k}_ci95"]
                    tpir = f"{s[k]:.2%} ({lo:.1%}-{hi:.1%})"
                cells = [
                    _rate(g.get(k, {}), "fpir_at_threshold", "fpir", "false_positives")
                    for k in "FM"
                ]
                miss = [_rate(g.get(k, {}), "fnir_at_threshold", "fnir", "misses") for k in "FM"]
                what = "own only" if side == "own" else "own + impostors"
                lines.append(
                    f"| {name} | {count} ({what}) | {rate:.1%} | {tpir} | {cells[0]} | {cells[1]} "
                    f"| {ratio_cell(pg['fpir_comparison'])} | {miss[0]} | {miss[1]} "
                    f"| {ratio_cell(pg['fnir_comparison'])} |"
                )
    lines.append("")
    for name, e in res["scorings"].items():
        lines.append(f"- {name}, FPIR 0.1%, own + impostors: {e['wide@0.001']['verdict']}")
    return "\n".join(lines) + "\n"


def main() -> int:
    return lfw_main(
        __doc__, "group-fpir", "False alerts per group, with impostors from the other half",
        lambda a: measure(a.root, a.identities, a.resamples), markdown,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
