"""Why are women missed more? FNIR by gender_from_name stratified by image factors (issue 12.2).

    python benchmarks/equality_causes.py [--root DIR] [--identities CSV] [--scoring raw|znorm]

gender_from_name is a NOISY proxy inferred from first names, not self-reported gender.
Protocol as `eval identify` on all dev identities (one gallery image each), raw SFace cosine (or
cohort z-norm per half: --scoring znorm), misses at the threshold at FPIR 0.1%. For each factor
(openlfr.evaluation.face_factors), of the PROBE and of the GALLERY image of each mated search: the
mean per group, FNIR per tertile per group, and F's FNIR standardised to M's mix of tertiles:
the share of the F-M gap a factor's distribution accounts for. Misses are also split into "wrong
person ranked first" and "mate first but below the threshold". Gallery image age cannot be
measured on LFW (no capture dates).

    python benchmarks/equality_causes.py --fixes [tight1.1 sharpen ...]

Cause-level fixes, none keyed on a group (openlfr.evaluation.crops): a tighter crop (less
forehead, hair and background in what SFace sees) and sharpening of soft crops only. Each is
applied to every image (probe, gallery and cohort alike, as it would be live), scored with
cohort z-norm, leave-one-out non-mated searches added, and per-group FNIR/FPIR with bootstrap
CIs at each half's threshold at FPIR 0.1%: on TUNE (where a fix would be chosen) and REPORT.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from openlfr.config import VisionSettings  # noqa: E402
from openlfr.evaluation import crops, group_rates, metrics  # noqa: E402
from openlfr.evaluation import face_factors as ff  # noqa: E402
from openlfr.evaluation import improvements as imp  # noqa: E402
from openlfr.evaluation import levers as lv  # noqa: E402
from openlfr.evaluation.identify import build_set, read_groups  # noqa: E402


def outcomes(data: object, feats: imp.Features, scoring: str) -> tuple:
    """(mated rows, gallery row of each, hit, rank1, non-mated scores) over all identities."""
    ok = feats.ok
    rows_m, mates, score_m, r1, score_n = [], [], [], [], []
    for half in (lv.TUNE, lv.REPORT):
        h = lv.half_split(data, half, ok)  # type: ignore[arg-type]
        g = h.split.gallery
        norm = (
            lv.cohort_znorm(feats.plain[g], feats.plain[h.cohort]) if scoring == "znorm" else None
        )
        if scoring == "raw":
            # One gallery of ALL identities, as eval identify: split only for bookkeeping.
            break
        o = lv.run(h, lv.Scorer(feats.plain, feats.plain[g], norm), ok)
        rows_m.append(h.split.mated)
        mates.append(g[h.split.mate_index])
        score_m.append(o.mated_score)
        r1.append(o.mated_rank1)
        score_n.append(o.nonmated_score)
    if scoring == "raw":
        split = imp.Split.of(data)  # type: ignore[arg-type]
        o = imp.run_variant(feats.plain, ok, split, imp.raw_scorer)
        return (split.mated, split.gallery[split.mate_index], o.mated_score, o.mated_rank1,
                o.nonmated_score)  # fmt: skip
    return tuple(np.concatenate(x) for x in (rows_m, mates, score_m, r1, score_n))


def fixes(data: object, paths: list[Path], variants: list[str], groups: dict[str, str]) -> None:
    vision = VisionSettings()
    feats = imp.image_features(paths, vision)
    sets = {"none (SFace's own crop)": (feats.plain, feats.ok)}
    sets.update({v: crops.variant_vectors(paths, vision, v) for v in variants})
    print("| fix | half | TPIR @ FPIR 0.1% | FNIR F (95% CI) | FNIR M (95% CI) | FNIR ratio "
          "F/M (95% CI) | FPIR F | FPIR M |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
    for name, (vecs, ok) in sets.items():
        for half in (lv.TUNE, lv.REPORT):
            h = lv.half_split(data, half, ok)  # type: ignore[arg-type]
            g, c = h.split.gallery, h.cohort
            sc = lv.Scorer(vecs, vecs[g], lv.cohort_znorm(vecs[g], vecs[c]))
            o = lv.run(h, sc, ok, leave_one_out=True)
            pg = group_rates.per_group(h, o, ok, groups, 500, True)
            t = pg["threshold"]
            tpir = float(np.mean(o.mated_rank1 & (o.mated_score >= t)))
            cells = []
            for grp in ("F", "M"):
                e = pg["groups"][grp]
                lo, hi = e["ci95"]["fnir"]
                cells.append(f"{e['fnir_at_threshold']:.1%} ({lo:.1%}-{hi:.1%})")
            cmp = pg["fnir_comparison"] or {}
            ratio = cmp.get("ratio")
            rci = cmp.get("ratio_ci95") or (float("nan"), float("nan"))
            f_fp, m_fp = (pg["groups"][k]["fpir_at_threshold"] for k in ("F", "M"))
            worse = cmp.get("worse", "?")
            r = f"{ratio:.2f} {worse} worse ({rci[0]:.2f}-{rci[1]:.2f})" if ratio else "n/a"
            print(f"| {name} | {lv.HALF_NAMES[half].split()[0]} | {tpir:.2%} | {cells[0]} | "
                  f"{cells[1]} | {r} | {f_fp:.2%} | {m_fp:.2%} |", flush=True)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    ap.add_argument("--identities", type=Path, default=DATA / "lfw" / "identities.csv")
    ap.add_argument("--scoring", choices=("raw", "znorm"), default="raw")
    ap.add_argument("--fixes", nargs="*", metavar="VARIANT", help="crop variants to measure "
                    "(tight<zoom>, sharpen); none given: tight1.1 sharpen")  # fmt: skip
    args = ap.parse_args()
    vision = VisionSettings()
    data = build_set(args.root)
    flat = data.gallery + data.mated + data.nonmated
    paths = [p for _, p in flat]
    if args.fixes is not None:
        groups = read_groups(args.identities, "gender_from_name")
        fixes(data, paths, args.fixes or ["tight1.1", "sharpen"], groups)
        return 0
    feats = imp.image_features(paths, vision)
    fac = ff.image_factors(paths, vision)
    groups = read_groups(args.identities, "gender_from_name")
    mrows, grows, ms, r1, ns = outcomes(data, feats, args.scoring)
    t = metrics.threshold_at_rate(np.where(np.isfinite(ns), ns, -1e9), 0.001)
    hit = r1 & (ms >= t)
    miss = ~hit
    grp = np.array([groups.get(flat[i][0], "unknown") for i in mrows], dtype=object)
    print(f"scoring {args.scoring}; threshold at FPIR 0.1% = {t:.4f}; gender_from_name is a "
          "noisy proxy (first names), not self-reported")  # fmt: skip
    print("\n| group | mated searches | identities | FNIR | FNIR per identity (mean) | "
          "misses in worst 10% of identities | wrong person first | mate first, below "
          "threshold | mean mate score |\n|---|---|---|---|---|---|---|---|---|")  # fmt: skip
    ids = np.array([flat[i][0] for i in mrows], dtype=object)
    mate = np.where(np.isfinite(ms), ms, np.nan)
    for g in ("F", "M"):
        sel = grp == g
        names, inv = np.unique(ids[sel].astype(str), return_inverse=True)
        per = np.bincount(inv, weights=miss[sel].astype(float))
        n = np.bincount(inv)
        worst = np.sort(per)[::-1][: max(1, names.size // 10)].sum() / max(per.sum(), 1)
        print(
            f"| {g} | {int(sel.sum())} | {names.size} | {miss[sel].mean():.2%} | "
            f"{(per / n).mean():.2%} | {worst:.0%} | {(~r1[sel]).mean():.2%} | "
            f"{(r1[sel] & (ms[sel] < t)).mean():.2%} | {np.nanmean(mate[sel]):.3f} |"
        )
    gap = miss[grp == "F"].mean() - miss[grp == "M"].mean()
    print(
        "\n| side | factor | mean F | mean M | FNIR F by tertile (lo/mid/hi) | "
        "FNIR M by tertile | F standardised to M's mix | share of gap |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for side, rows in (("probe", mrows), ("gallery", grows)):
        for j, name in enumerate(ff.FACTORS):
            v = fac[rows, j]
            strata = ff.tertiles(v)
            cells = []
            for g in ("F", "M"):
                cells.append(
                    "/".join(
                        f"{miss[(grp == g) & (strata == k)].mean():.0%}"
                        if ((grp == g) & (strata == k)).any()
                        else "-"
                        for k in range(3)
                    )
                )
            std = ff.standardised_rate(miss, strata, grp, "F", "M")
            share = (miss[grp == "F"].mean() - std) / gap if gap > 0 else float("nan")
            mf = np.nanmean(v[grp == "F"])
            mm = np.nanmean(v[grp == "M"])
            print(
                f"| {side} | {name} | {mf:.3g} | {mm:.3g} | {cells[0]} | {cells[1]} | "
                f"{std:.2%} | {share:+.0%} |"
            )
    print("\ngallery image age: not measurable on LFW (no capture dates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
