"""Open-set levers on LFW 1:N, tuned on one half of the dev identities, reported on the other.

    python benchmarks/accuracy.py [--root DIR] [--identities CSV] [--out out/bench] [--quick]

Split (fixed rule): an identity is in TUNE when the first byte of sha256(name) is even, in REPORT
when odd; each half is its own `eval identify` protocol (one gallery image per identity). Every
choice (lever kept, fusion weight) is made on TUNE; REPORT gives the figures, with 95% bootstrap
CIs resampling identities. Z-norm's cohort for a half is one image per identity of the other half
(people in no gallery of that half); s-norm adds the probe side (its scores against that cohort).
Non-mated searches: the half's one-image people plus, leave-one-out, each mated probe against the
gallery without its own entry, so FPIR 0.1% is measurable on a half (>= 1,000 searches); the
one-image-only figure is reported too. Levers: landmark refinement (one row with it off; every
other row has it on), enrolment augmentation (mirror, rotations), z-/s-norm, SFace + dlib score
fusion (normalised scores summed, weight chosen on TUNE), quality-aware
fusion (dlib's weight set by the probe's quality score, below or above TUNE's median).
Per-group FNIR/FPIR (gender_from_name: a NOISY proxy from first names, not self-reported) at the
REPORT half's threshold at FPIR 0.1% (the operating point), before and after.
Tracks (several images of a person as one track's views): multi-image templates, quality-aware
fusion, a sequential decision. Writes OUT/accuracy.md, OUT/accuracy.json and OUT/cohort-sface.npz
(the TUNE half, one image per identity: a cohort file for settings.scoring.cohort_path).
The first run embeds every image (~20 min on 2 cores); later runs read the evaluation cache.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lfw_cli import lfw_main, weak_table  # noqa: E402

from openlfr.config import VisionSettings  # noqa: E402
from openlfr.evaluation import group_rates, metrics  # noqa: E402
from openlfr.evaluation import improvements as imp  # noqa: E402
from openlfr.evaluation import levers as lv  # noqa: E402
from openlfr.evaluation import tracks as tr  # noqa: E402
from openlfr.evaluation.cohort import one_per_identity, save_cohort  # noqa: E402
from openlfr.evaluation.cross_impostors import other_half_rows, with_impostors  # noqa: E402
from openlfr.evaluation.identify import build_set, read_groups  # noqa: E402
from openlfr.evaluation.weak_references import weak_references  # noqa: E402
from openlfr.vision.sface import normalise  # noqa: E402

WEIGHTS = (0.3, 0.5, 0.7, 1.0)
#: (weight below the TUNE half's median probe quality, weight at or above it) for dlib.
QUALITY_WEIGHTS = ((1.0, 0.5), (0.7, 0.3), (0.5, 1.0), (0.3, 0.7))
KEY = "tpir@0.001"
#: TUNE differences smaller than this (about 8 of 1,675 mated searches) count as ties, which
#: go to the simpler variant: at FPIR 0.1% the threshold rests on two or three impostors.
TIE = 0.005
#: AS-norm's cohort per side, the best K on TUNE (1,388 cohort faces; TPIR at FPIR 0.1%): top 50
#: 84.7%, 100 86.4%, 200 87.7%, 400 88.3%, all (plain s-norm) 87.5%, against cohort z-norm 89.6%.
AS_TOP_K = 400
LOO = True  # each mated probe is also a non-mated search without its own entry (levers.run)


def variants(h: lv.Half, f: dict[str, np.ndarray]) -> dict[str, lv.Scorer]:
    g, c = h.split.gallery, h.cohort
    p, fl, aug, rot, u = f["plain"], f["flip"], f["aug_mirror"], f["aug_rot"], f["unrefined"]
    return {
        "raw (SFace cosine, as now)": lv.Scorer(p, p[g]),
        UNREFINED: lv.Scorer(u, u[g], lv.cohort_znorm(u[g], u[c])),
        "flip TTA": lv.Scorer(fl, fl[g]),
        "gallery z-norm (gallery as cohort)": lv.Scorer(p, p[g], lv.gallery_znorm(p[g])),
        "cohort z-norm": lv.Scorer(p, p[g], lv.cohort_znorm(p[g], p[c])),
        "cohort s-norm (template and probe side)": lv.Scorer(
            p, p[g], lv.cohort_znorm(p[g], p[c]), probe_cohort=(p[c], None)
        ),
        # AS-norm: each side normalised by its AS_TOP_K most similar cohort faces only.
        f"cohort AS-norm (s-norm, top {AS_TOP_K} each side)": lv.Scorer(
            p,
            p[g],
            lv.cohort_znorm(p[g], p[c], top_k=AS_TOP_K),
            probe_cohort=(p[c], None),
            probe_top_k=AS_TOP_K,
        ),
        "flip TTA + cohort z-norm": lv.Scorer(fl, fl[g], lv.cohort_znorm(fl[g], fl[c])),
        "enrol aug mirror + cohort z-norm": lv.Scorer(p, aug[g], lv.cohort_znorm(aug[g], p[c])),
        AUG_Z: lv.Scorer(p, rot[g], lv.cohort_znorm(rot[g], p[c])),
        AUG_S: lv.Scorer(p, rot[g], lv.cohort_znorm(rot[g], p[c]), probe_cohort=(p[c], None)),
    }


AUG_Z = "enrol aug mirror+rot±7° + cohort z-norm"
#: The one lever that changes every vector (vision/landmarks.py): all other rows use it.
UNREFINED = "cohort z-norm, landmarks as detected (refine_landmarks off)"
AUG_S = "enrol aug mirror+rot±7° + cohort s-norm"


def with_fusion(
    h: lv.Half,
    base: lv.Scorer,
    d: np.ndarray,
    dok: np.ndarray,
    w: float,
    by_quality: tuple[np.ndarray, float, float, float] | None = None,
) -> lv.Scorer:
    """`base` plus dlib's cohort-normalised score (z, or s-norm when `base` is s-normed)."""
    g, c = h.split.gallery, h.cohort[dok[h.cohort]]
    mu, sd = lv.cohort_znorm(d[g], d[c])
    pc = None if base.probe_cohort is None else (base.probe_cohort[0], d[c])
    return replace(base, second=(d, d[g], mu, sd, w), probe_cohort=pc,
                   second_weight_by_quality=by_quality)  # fmt: skip


def fused_variants(
    h: lv.Half, vs: dict[str, lv.Scorer], dl: Any, quality: np.ndarray, cut: float
) -> dict[str, lv.Scorer]:
    """SFace + dlib score fusion on the z-norm and augmented bases, fixed and quality-aware
    weights (every weight chosen on TUNE only)."""
    out: dict[str, lv.Scorer] = {}
    for base in ("cohort z-norm", AUG_Z, AUG_S):
        for w in WEIGHTS:
            out[f"{base} + dlib fusion w={w:g}"] = with_fusion(h, vs[base], dl.vectors, dl.ok, w)
    for base in (AUG_Z, AUG_S):
        for lo, hi in QUALITY_WEIGHTS:
            out[f"{base} + dlib fusion, quality-aware w={lo:g}/{hi:g}"] = with_fusion(
                h, vs[base], dl.vectors, dl.ok, 0.0, (quality, cut, lo, hi)
            )
    return out


def per_group(
    h: lv.Half, o: imp.Outcome, ok: np.ndarray, groups: dict[str, str], resamples: int
) -> Any:
    return group_rates.per_group(h, o, ok, groups, resamples, LOO)


def summarise(h: lv.Half, o: imp.Outcome, ok: np.ndarray, resamples: int) -> dict[str, Any]:
    """Bootstrap summary on all non-mated searches, plus TPIR at FPIR 0.1% on the true
    non-mated ones alone (people with one image, as `eval identify`: comparable with before)."""
    mated_ids = [str(i) for i in h.ids[h.split.mated]]
    out = lv.summary_with_ci(
        o, mated_ids, resamples, nonmated_ids=lv.nonmated_identities(h, ok, LOO)
    )
    true_n = np.where(np.isfinite(o.nonmated_score), o.nonmated_score, -1e9)[
        : h.split.nonmated.size
    ]
    t = metrics.threshold_at_rate(true_n, 0.001)
    out["tpir@0.001_true_nonmated"] = float(np.mean(o.mated_rank1 & (o.mated_score >= t)))
    out["true_nonmated"] = int(h.split.nonmated.size)
    return out


def measure(root: Path, groups_csv: Path, resamples: int, out: Path) -> dict[str, Any]:
    vision = VisionSettings()
    data = build_set(root)
    paths = [p for _, p in data.gallery + data.mated + data.nonmated]
    feats = imp.image_features(paths, vision)
    unrefined = imp.image_features(paths, vision.model_copy(update={"refine_landmarks": False}))
    ok = feats.ok & unrefined.ok  # the same faces are found either way; refinement moves points
    agreement = np.sum(feats.plain * feats.mirror, axis=1)  # unit rows: the cosine
    floor = 0.0
    g_rows = np.arange(len(data.gallery))  # only gallery images are augmented at enrolment
    rot, rok = lv.rotated_features([paths[i] for i in g_rows], vision)
    rot_all = np.zeros((len(paths), len(lv.ROTATIONS), imp.DIM), np.float32)
    rot_all[g_rows] = rot * rok[:, None, None]
    f = {
        "plain": feats.plain,
        "flip": feats.flip(),
        "aug_mirror": normalise(feats.plain + feats.mirror),
        "aug_rot": lv.augmented_templates(feats.plain, feats.mirror, rot_all),
        "unrefined": unrefined.plain,
    }
    dl = imp.dlib_vectors(paths, vision)
    groups = read_groups(groups_csv, "gender_from_name")
    res: dict[str, Any] = {"halves": {}, "tracks": {}, "leave_one_out_nonmated": LOO}
    cut = 0.0
    for half in (lv.TUNE, lv.REPORT):
        h = lv.half_split(data, half, ok)
        if half == lv.TUNE:  # the quality cut for quality-aware fusion: TUNE's median probe
            probes = np.concatenate([h.split.mated, h.split.nonmated])
            cut = float(np.median(feats.quality[probes][ok[probes]]))
            res["quality_cut"] = cut
            # The weak-reference floor (settings.scoring.weak_reference_below): TUNE's 10th
            # percentile of its references' mirror agreement.
            floor = float(np.percentile(agreement[h.split.gallery], 10))
        vs = variants(h, f)
        vs.update(fused_variants(h, vs, dl, feats.quality, cut))
        outcomes = {name: lv.run(h, sc, ok, dl.ok, leave_one_out=LOO) for name, sc in vs.items()}
        res["halves"][lv.HALF_NAMES[half]] = {
            name: summarise(h, o, ok, resamples if half == lv.REPORT else 200)
            for name, o in outcomes.items()
        }
        for name, sc in vs.items():  # the other half's images as further impostors
            res["halves"][lv.HALF_NAMES[half]][name][WIDE] = wide_tpir(h, half, sc, ok, dl.ok)
        if half == lv.REPORT:
            before, after = "raw (SFace cosine, as now)", choose(res)
            res["chosen"] = after
            res["weak_references"] = weak_references(
                h, agreement, outcomes["cohort z-norm"], floor, groups
            )
            res["per_group"] = {
                "before: " + before: per_group(h, outcomes[before], ok, groups, resamples),
                "landmarks as detected: cohort z-norm": per_group(
                    h, outcomes[UNREFINED], ok, groups, resamples
                ),
                "z-norm alone: cohort z-norm": per_group(
                    h, outcomes["cohort z-norm"], ok, groups, resamples
                ),
                "after: " + after: per_group(h, outcomes[after], ok, groups, resamples),
            }
        else:
            save_cohort(
                out / "cohort-sface.npz",
                one_per_identity([str(i) for i in h.ids[h.cohort]], feats.plain[h.cohort],
                                 ok[h.cohort]),
                "sface",
            )  # fmt: skip
        res["tracks"][lv.HALF_NAMES[half]] = track_table(data, half, feats, h, resamples)
    res.update(
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        machine=f"{platform.node()} {platform.machine()}",
        root=str(root),
    )
    return res


WIDE = "tpir@0.001_with_other_half"


def wide_tpir(h: lv.Half, half: int, sc: lv.Scorer, ok: np.ndarray, second_ok: np.ndarray) -> float:
    """TPIR at FPIR 0.1% with the other half's images (less the cohort) searched as impostors
    besides the half's own non-mated searches (benchmarks/group_fpir.py): about 1.6 times as
    many non-mated searches, so the threshold rests on more false positives."""
    o, _ = with_impostors(h, lv.score_fn(h, sc, second_ok), ok, other_half_rows(h, ok, half))
    t = metrics.threshold_at_rate(
        np.where(np.isfinite(o.nonmated_score), o.nonmated_score, -1e9), 0.001
    )
    return float(np.mean(o.mated_rank1 & (o.mated_score >= t)))


def choose(res: dict[str, Any]) -> str:
    """The variant with the best TPIR at FPIR 0.1% on TUNE; differences under TIE are ties,
    and a tie goes to the first (simplest) variant."""
    tune = res["halves"][lv.HALF_NAMES[lv.TUNE]]
    best = max(v[KEY] for v in tune.values())
    return next(k for k, v in tune.items() if v[KEY] >= best - TIE)


def track_table(data: Any, half: int, feats: Any, h: lv.Half, resamples: int) -> dict[str, Any]:
    cohort = feats.plain[h.cohort]
    out: dict[str, Any] = {}
    for multi in (False, True):
        ts = tr.track_set(data, half, feats.ok, multi)
        for how in ("single", "mean", "quality", "sequential"):
            o, views = tr.run_tracks(ts, feats.plain, feats.quality, cohort, how)
            name = f"{'2-image' if multi else '1-image'} template, {how}"
            out[name] = lv.summary_with_ci(o, ts.mated_ids, max(200, resamples // 5))
            out[name]["mean_views"] = float(views.mean())
    return out


def fmt(v: dict[str, Any], key: str) -> str:
    lo, hi = v[key + "_ci95"] if key != "rank1" else v["rank1_ci95"]
    star = "" if v.get(key + "_supported", True) else " †"
    return f"{v[key]:.2%} ({lo:.1%}-{hi:.1%}){star}"


def _ratio(c: dict[str, Any] | None) -> str:
    """A comparison's worse/better ratio with its CI, as a table cell."""
    if not c:
        return "n/a"
    r = f"{c['worse']}/{c['better']} {c['ratio']:.2f}" if c["ratio"] is not None else "from 0"
    return f"{r} (CI {c['ratio_ci95'][0]:.2f}-{c['ratio_ci95'][1]:.2f})" if c["ratio_ci95"] else r


def markdown(res: dict[str, Any]) -> str:
    tune_name, rep_name = lv.HALF_NAMES[lv.TUNE], lv.HALF_NAMES[lv.REPORT]
    tune, rep = res["halves"][tune_name], res["halves"][rep_name]
    any_rep = next(iter(rep.values()))
    lines = [
        f"Tuned on {tune_name}; reported on {rep_name}: gallery = one image per identity, "
        f"{any_rep['mated']} mated and {any_rep['nonmated']} non-mated searches (REPORT): "
        f"{any_rep['true_nonmated']} of people with one image and, leave-one-out, every "
        "mated probe searched against the gallery without its own entry. 95% CIs: bootstrap "
        "over identities. † unsupported: FPIR x needs >= 1/x non-mated searches (1e-3: "
        "1,000; 1e-4: 10,000); with fewer the threshold sits above every non-mated score, so "
        "TPIR there is a lower bound. 'true n-m' is TPIR @ 0.1% on the one-image people alone "
        f"(as `eval identify`; {any_rep['true_nonmated']} searches: a lower bound). '+ other "
        "half' adds the other half's images (less the z-norm cohort) as impostors: more "
        "non-mated searches, a threshold resting on more false positives.",
        "",
        "| lever | TUNE TPIR@0.1% | TUNE @ 0.1%, + other half | REPORT rank-1 | TPIR @ FPIR 1% "
        "| @ 0.1% | @ 0.01% | @ 0.1%, true n-m | @ 0.1%, + other half |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, v in rep.items():
        mark = " **(kept)**" if name == res["chosen"] else ""
        lines.append(
            f"| {name}{mark} | {tune[name][KEY]:.2%} | {tune[name][WIDE]:.2%} | "
            f"{fmt(v, 'rank1')} | {fmt(v, 'tpir@0.01')} | {fmt(v, 'tpir@0.001')} | "
            f"{fmt(v, 'tpir@0.0001')} | {v['tpir@0.001_true_nonmated']:.2%} | {v[WIDE]:.2%} |"
        )
    lines += [
        "",
        "Per group at REPORT's threshold at FPIR 0.1% (gender_from_name, noisy proxy):",
        "",
    ]
    lines += [
        "| | group | identities | FNIR per search (95% CI) | FNIR per identity, mean (95% CI) "
        "| FPIR (95% CI) |",
        "|---|---|---|---|---|---|",
    ]
    for label, pg in res["per_group"].items():
        per_id = pg["per_identity"]
        for g, e in pg["groups"].items():
            fn, fp = e["ci95"]["fnir"], e["ci95"]["fpir"]
            pi = per_id["groups"].get(g)
            mean = f"{pi['fnir']:.2%} ({pi['ci95'][0]:.1%}-{pi['ci95'][1]:.1%})" if pi else "n/a"
            lines.append(
                f"| {label} | {g} | {e['identities']} | {e['fnir_at_threshold']:.2%} "
                f"({fn[0]:.1%}-{fn[1]:.1%}) | {mean} | {e['fpir_at_threshold']:.2%} "
                f"({fp[0]:.1%}-{fp[1]:.1%}) |"
            )
        cells = [_ratio(pg["fnir_comparison"]), _ratio(next(iter(per_id["comparisons"]), None))]
        lines.append(f"| {label} | FNIR ratio worse/better | | {cells[0]} | {cells[1]} | |")
    w = res["weak_references"]
    lines += [
        "",
        f"Weak references (REPORT; cohort z-norm at FPIR 0.1%): mirror agreement below "
        f"{w['floor']:.4f} (TUNE's 10th percentile): {w['weak_references']} of "
        f"{w['references']} references, {w['share_of_misses']:.0%} of all misses.",
        "",
        *weak_table(w["by_group"], "reference"),
    ]
    for half_name, tt in res["tracks"].items():
        lines += ["", f"Tracks ({half_name}; cohort z-norm; several images as one track):", ""]
        lines += [
            "| template, fusion | mated tracks | non-mated | mean views | TPIR @ 1% | @ 0.1% |",
            "|---|---|---|---|---|---|",
        ]
        for name, v in tt.items():
            lines.append(
                f"| {name} | {v['mated']} | {v['nonmated']} | {v['mean_views']:.2f} | "
                f"{fmt(v, 'tpir@0.01')} | {fmt(v, 'tpir@0.001')} |"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    return lfw_main(
        __doc__, "accuracy", "Accuracy levers",
        lambda a: measure(a.root, a.identities, a.resamples, a.out), markdown,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
