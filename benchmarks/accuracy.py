"""Accuracy levers, before and after, on LFW open-set 1:N identification (issue 5, item 5).

    python benchmarks/accuracy.py [--root DIR] [--pairs CSV] [--out out/bench] [--no-dlib]

Same protocol as `openlfr eval identify --root ../shared/data/lfw/images`: TPIR at FPIR 1% and
0.1% (headline), rank-1, for raw SFace, flip TTA, score normalisation (gallery z-norm, top-1 minus
the mean of the next 10), a dlib second opinion on the top-1 candidate (dlib threshold at FAR 1%
on LFW pairs, not tuned here), their combinations, and (separately) plain vs quality-weighted
fusion of several images per person. Prints the table; writes OUT/accuracy.md and .json.
The first run embeds every image (SFace plain + mirror, and dlib: ~20 min on 2 cores); later
runs read the evaluation cache.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO))

from openlfr.config import VisionSettings  # noqa: E402
from openlfr.evaluation import improvements as imp  # noqa: E402
from openlfr.evaluation.identify import build_set  # noqa: E402


def measure(root: Path, pairs_csv: Path, use_dlib: bool) -> dict[str, Any]:
    vision = VisionSettings()
    data = build_set(root)
    paths = [p for _, p in data.gallery + data.mated + data.nonmated]
    split = imp.Split.of(data)
    feats = imp.image_features(paths, vision)
    variants: dict[str, Any] = {}
    for vname, vecs in (("", feats.plain), ("flip + ", feats.flip())):
        for sname, scorer in imp.SCORERS.items():
            label = (vname + sname) if sname != "raw" or not vname else "flip"
            variants[label] = imp.summarise(imp.run_variant(vecs, feats.ok, split, scorer))
    notes = [
        f"gallery {len(split.gallery)}, mated probes {len(split.mated)}, non-mated probes "
        f"{len(split.nonmated)}: FPIR 0.1% rests on the 3rd-highest non-mated score (2 false "
        "positives allowed), so it moves by a few points between nearby variants"
    ]
    if use_dlib:
        d = imp.dlib_vectors(paths, vision)
        where = {p.resolve(): i for i, p in enumerate(paths)}
        with pairs_csv.open(newline="") as fh:
            rows = [r for r in csv.DictReader(fh)]
        ia = [where[(root / r["img_a"]).resolve()] for r in rows]
        ib = [where[(root / r["img_b"]).resolve()] for r in rows]
        import numpy as np

        same = np.array([r["same"].strip() == "1" for r in rows])
        t_d = imp.dlib_veto_threshold(d.vectors[ia], d.vectors[ib], same)
        veto = imp.make_veto(d.vectors, d.ok, split, t_d)
        for label, vecs in (("dlib_veto", feats.plain), ("flip + dlib_veto", feats.flip())):
            o = imp.run_variant(vecs, feats.ok, split, imp.raw_scorer, veto)
            variants[label] = imp.summarise(o)
        o = imp.run_variant(feats.flip(), feats.ok, split, imp.znorm_scorer, veto)
        variants["flip + znorm + dlib_veto"] = imp.summarise(o)
        notes.append(
            f"dlib veto threshold {t_d:.4f}: dlib cosine at FAR {imp.DLIB_VETO_FAR:g} on the "
            f"{int((~same).sum())} different-person LFW pairs of {pairs_csv.name}"
        )
    fusion = imp.fusion_table(feats, data)
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()}",
        "root": str(root),
        "variants": variants,
        "fusion": fusion,
        "notes": notes,
    }


def markdown(res: dict[str, Any]) -> str:
    lines = [
        "| variant | rank-1 | TPIR @ FPIR 1% | TPIR @ FPIR 0.1% |",
        "|---|---|---|---|",
    ]
    for name, v in res["variants"].items():
        lines.append(
            f"| {name} | {v['rank1']:.2%} | {v['tpir@0.01']:.2%} | {v['tpir@0.001']:.2%} |"
        )
    f = res["fusion"]
    lines += [
        "",
        f"Fusion of up to 5 images per person ({f['enrolled_identities']} enrolled identities, "
        f"{f['nonmated_identities']} non-mated; FPIR 1% rests on few non-mated probes):",
        "",
        "| probe | rank-1 | TPIR @ FPIR 1% |",
        "|---|---|---|",
    ]
    for how in ("single", "plain", "quality"):
        lines.append(f"| {how} | {f[how]['rank1']:.2%} | {f[how]['tpir@0.01']:.2%} |")
    lines += ["", *(f"- {n}" for n in res["notes"])]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    ap.add_argument("--pairs", type=Path, default=DATA / "lfw" / "pairs.csv")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "bench")
    ap.add_argument("--no-dlib", action="store_true", help="Skip the dlib second opinion.")
    args = ap.parse_args()
    res = measure(args.root, args.pairs, not args.no_dlib)
    md = markdown(res)
    print(md)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.md").write_text(f"# Accuracy levers\n\n{res['date']}\n\n{md}")
    (args.out / "accuracy.json").write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {args.out / 'accuracy.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
