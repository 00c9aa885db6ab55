"""The command line the LFW 1:N benchmarks share: where the images are, where results go."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def lfw_arguments(description: str) -> argparse.Namespace:
    """--root, --identities, --out (created) and --quick (200 bootstrap resamples)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--root", type=Path, default=DATA / "lfw" / "images")
    ap.add_argument("--identities", type=Path, default=DATA / "lfw" / "identities.csv")
    ap.add_argument("--out", type=Path, default=REPO / "out" / "bench")
    ap.add_argument("--quick", action="store_true", help="200 bootstrap resamples, not 1000.")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    args.resamples = 200 if args.quick else 1000
    return args


def write_results(out: Path, stem: str, title: str, md: str, res: dict[str, Any]) -> None:
    """Prints the table and writes OUT/STEM.md (titled, dated) and OUT/STEM.json."""
    print(md)
    (out / f"{stem}.md").write_text(f"# {title}\n\n{res['date']}\n\n{md}")
    (out / f"{stem}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(f"wrote {out / f'{stem}.md'}", file=sys.stderr)


def lfw_main(
    doc: str,
    stem: str,
    title: str,
    measure: Callable[[argparse.Namespace], dict[str, Any]],
    markdown: Callable[[dict[str, Any]], str],
) -> int:
    """A benchmark's whole `main`: parse the arguments, measure, print and write."""
    args = lfw_arguments(doc.splitlines()[0])
    res = measure(args)
    write_results(args.out, stem, title, markdown(res), res)
    return 0


def weak_table(by_group: dict[str, Any], weak: str) -> list[str]:
    """Markdown rows of a weak/rest split per group (evaluation/weak_references.py); `weak`
    names the weak side ("reference", "probe")."""
    lines = [
        f"| group | searches | weak {weak}s | FNIR, weak {weak} | FNIR, the rest |",
        "|---|---|---|---|---|",
    ]
    for g, e in by_group.items():
        cells = [f"{e[k]:.1%}" if e[k] is not None else "n/a" for k in ("fnir_weak", "fnir_rest")]
        lines.append(f"| {g} | {e['searches']} | {e['weak_searches']} | {cells[0]} | {cells[1]} |")
    return lines


def ratio_cell(c: dict[str, Any] | None) -> str:
    """A per-group comparison (group_rates.per_group's fnir_/fpir_comparison) as a table cell:
    worse/better ratio with its 95% CI."""
    if not c or c["ratio"] is None:
        return "n/a (a rate of zero)" if c else "n/a"
    ci = c["ratio_ci95"]
    span = f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else ""
    return f"{c['worse']}/{c['better']} {c['ratio']:.2f}{span}"
