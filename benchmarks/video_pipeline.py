"""Video benchmark: openlfr's `eval video` against face_recognition's default pipeline.

    python benchmarks/video_pipeline.py [--out out/bench] [--max-frames N] [--skip-baseline]

Builds the inputs with make_clips (if needed), then in one run, one after the other so the two
never share the CPU: openlfr and the baseline on the 640x360 talking-head clip with its
watchlist (one person deliberately not enrolled), openlfr on crowd_1080p.mp4 against 500 LFW
identities (nobody there is enrolled), and the baseline on the first --crowd-frames frames of it.
Prints a table and writes OUT/video_pipeline.md and OUT/video_pipeline.json.

`video_profile.py` splits the same clip's time into stages. Latest (2026-12-02, 2 shared cores,
load ~1; benchmarks/README.md): talking heads 193 fps vs the baseline's 6.98, 27.7x, recall 4/4,
0 false alerts; 67 fps (9.7x) before the re-check fix and keyframe detection
(pipeline/detect_scale.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from baseline_face_recognition import run_baseline
from make_clips import REPO, VIDEO_DIR, Manifest, Segment, build
from rich.console import Console
from rich.table import Table

CROWD = VIDEO_DIR / "crowd_1080p.mp4"
COLUMNS = [
    "pipeline",
    "clip",
    "frames",
    "fps",
    "faces detected",
    "identities alerted",
    "recall per identity",
    "false alerts",
    "speed openlfr/baseline",
]
console = Console(stderr=True)


@dataclass
class Run:
    pipeline: str
    clip: str
    video: Path
    watchlist: Path
    segments: list[Segment]
    command: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    error: str | None = None
    wall_seconds: float = 0.0


def openlfr_command() -> list[str]:
    """The `openlfr` script next to this Python, or `python -m openlfr.cli`."""
    script = Path(sys.executable).with_name("openlfr")
    return [str(script)] if script.exists() else [sys.executable, "-m", "openlfr.cli"]


def run_openlfr(run: Run, json_out: Path, threshold: float | None, timeout: float) -> None:
    """`openlfr eval video ... --json json_out`; its stderr is passed through (and kept)."""
    run.command = [
        *openlfr_command(),
        "eval",
        "video",
        "--video",
        str(run.video),
        "--watchlist",
        str(run.watchlist),
        "--json",
        str(json_out),
    ]
    if threshold is not None:
        run.command += ["--threshold", str(threshold)]
    json_out.unlink(missing_ok=True)
    console.rule(f"openlfr eval video: {run.clip}")
    start = time.perf_counter()
    stdout_file = json_out.with_suffix(".stdout")
    try:
        with stdout_file.open("wb") as sink:
            proc = subprocess.Popen(run.command, stdout=sink, stderr=subprocess.PIPE, cwd=REPO)
    except OSError as exc:
        run.error = f"cannot start openlfr: {exc}"
        return
    assert proc.stderr is not None
    stderr = proc.stderr
    tail = bytearray()

    def forward() -> None:  # show openlfr's progress live, keep the end for error reports
        while chunk := os.read(stderr.fileno(), 4096):
            sys.stderr.buffer.write(chunk)
            sys.stderr.buffer.flush()
            tail.extend(chunk)
            del tail[:-4000]

    pump = threading.Thread(target=forward, daemon=True)
    pump.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        run.error = f"timed out after {timeout:.0f} s"
        return
    finally:
        pump.join(timeout=5)
        run.wall_seconds = time.perf_counter() - start
    if proc.returncode != 0:
        lines = tail.decode(errors="replace").strip().splitlines()[-10:]
        run.error = f"exit {proc.returncode}: " + " | ".join(lines)
        return
    try:
        text = json_out.read_text() if json_out.exists() else stdout_file.read_text()
        run.result = json.loads(text)
    except json.JSONDecodeError as exc:
        run.error = f"unparsable JSON from openlfr: {exc}"


def run_base(run: Run, max_frames: int | None, cache: Path, json_out: Path) -> None:
    console.rule(f"baseline (face_recognition default): {run.clip}")
    start = time.perf_counter()
    try:
        run.result = run_baseline(run.video, run.watchlist, max_frames, cache_dir=cache)
        json_out.write_text(json.dumps(run.result, indent=2) + "\n")
    except Exception as exc:  # report it in the table rather than lose the other rows
        run.error = f"{type(exc).__name__}: {exc}"
    run.wall_seconds = time.perf_counter() - start


def identities_at(segments: list[Segment], first: int, last: int) -> set[str]:
    """Identities whose segment overlaps frames first..last."""
    return {s.identity for s in segments if s.first_frame <= last and s.last_frame >= first}


def score(run: Run) -> dict[str, Any]:
    """Recall and false alerts of `run` against its clip's segments (only frames it processed).

    An alert (or, for the baseline, a matched frame) is correct when its identity is the person
    on screen at that time; anything else is a false alert.
    """
    res = run.result or {}
    frames = int(res.get("frames", 0))
    seen = [s for s in run.segments if s.first_frame < frames]
    expected = sorted({s.identity for s in seen if s.enrolled})
    correct: set[str] = set()
    false: dict[str, int] = {}
    if "frame_matches" in res:
        unit = "frames"
        for m in res["frame_matches"]:
            if m["identity"] in identities_at(seen, m["frame"], m["frame"]):
                correct.add(m["identity"])
            else:
                false[m["identity"]] = false.get(m["identity"], 0) + 1
    elif res.get("alerts") and all("first_frame" in a for a in res["alerts"]):
        unit = "alerts"
        for a in res["alerts"]:
            if a["identity"] in identities_at(seen, a["first_frame"], a["last_frame"]):
                correct.add(a["identity"])
            else:
                false[a["identity"]] = false.get(a["identity"], 0) + 1
    else:  # no frame positions: judge by presence anywhere in the processed part
        unit = "alerts"
        present = {s.identity for s in seen}
        for identity, n in res.get("alerted_identities", {}).items():
            if identity in present:
                correct.add(identity)
            else:
                false[identity] = n
    hit = [i for i in expected if i in correct]
    return {
        "expected": expected,
        "recalled": hit,
        "missed": [i for i in expected if i not in correct],
        "recall": len(hit) / len(expected) if expected else None,
        "false_alerts": sum(false.values()),
        "false_unit": unit,
        "false_by_identity": dict(sorted(false.items())),
    }


def fmt_counts(counts: dict[str, int], limit: int = 6) -> str:
    """`a: 3; b: 1 (+N more)`, largest counts first."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = "; ".join(f"{k}: {v}" for k, v in items[:limit])
    return text + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def table_rows(runs: list[Run], scores: list[dict[str, Any]]) -> list[list[str]]:
    fps = {(r.pipeline, r.clip): r.result["fps"] for r in runs if r.result}
    rows = []
    for run, sc in zip(runs, scores, strict=True):
        if run.result is None:
            rows.append(
                [run.pipeline, run.clip, "-", "-", "-", "-", "-", "-", f"FAILED: {run.error}"[:200]]
            )
            continue
        res = run.result
        alerted = res.get("alerted_identities", {})
        recall = (
            "n/a (nobody enrolled present)"
            if sc["recall"] is None
            else (
                f"{len(sc['recalled'])}/{len(sc['expected'])} ({sc['recall']:.0%})"
                + (f"; missed {', '.join(sc['missed'])}" if sc["missed"] else "")
            )
        )
        wrong = sc["false_by_identity"]
        false = f"{sc['false_alerts']} {sc['false_unit']}" + (
            f" on {len(wrong)} identities: {fmt_counts(wrong)}" if wrong else ""
        )
        base = fps.get(("baseline", run.clip))
        ratio = "-" if run.pipeline != "openlfr" or not base else f"{res['fps'] / base:.1f}x"
        unit = "frames" if run.pipeline == "baseline" else "alerts"
        rows.append(
            [
                run.pipeline,
                run.clip,
                str(res["frames"]),
                f"{res['fps']:.2f}",
                str(res["faces_detected"]),
                f"{len(alerted)} ({unit}) {fmt_counts(alerted)}" if alerted else "none",
                recall,
                false,
                ratio,
            ]
        )
    return rows


def render_markdown(rows: list[list[str]], meta: dict[str, Any]) -> str:
    lines = [
        "# Video pipeline benchmark",
        "",
        f"{meta['created']} on {meta['machine']} ({meta['cpus']} CPUs), Python {meta['python']}.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    lines += ["", *[f"- {n}" for n in meta["notes"]], ""]
    return "\n".join(lines)


NOTES = [
    "talking_heads_640x360: 5 talking-head clips (first 6 s each, 150 frames) letterboxed to "
    "640x360, separated by --gap seconds of black (manifest.gap_seconds); watchlist "
    "references come from 7.5 s of each source (not in the clip); RD_Radio34 "
    "is not enrolled, so any alert during its segment is false.",
    "crowd_1080p: pedestrians, none enrolled; watchlist = 500 LFW identities; every alert is "
    "false. The baseline runs only its first --crowd-frames frames (it manages ~1 fps).",
    "openlfr counts alerts (one per track); the baseline has no tracker, so its identity counts "
    "and false alerts are matched frames.",
    "fps times the frame loop (decode, detect, embed, match), not enrolment. Both pipelines ran "
    "one after the other on the same machine; timings vary up to 2x between runs, so compare "
    "the ratio within one run.",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark `openlfr eval video` against face_recognition's default "
        "pipeline (dlib HOG + ResNet on every frame) on a 640x360 talking-head clip and on a "
        "1080p crowd clip with a 500-identity LFW watchlist. Builds the inputs if needed.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "out" / "bench",
        help="folder for the inputs and results (default out/bench)",
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="baseline: stop after N frames of the talking-head clip "
        "(recall is then scored on the part it saw)",
    )
    parser.add_argument(
        "--crowd-frames",
        type=int,
        default=10,
        help="baseline: frames of crowd_1080p to run (default 10)",
    )
    parser.add_argument("--skip-baseline", action="store_true", help="run openlfr only")
    parser.add_argument("--skip-openlfr", action="store_true", help="run the baseline only")
    parser.add_argument("--skip-crowd", action="store_true", help="leave crowd_1080p out")
    parser.add_argument(
        "--threshold", type=float, default=None, help="passed to `openlfr eval video --threshold`"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per openlfr run (default 1800)"
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=2.0,
        help="seconds of black between people in the talking-head clip "
        "(default 2; 0 = hard cuts, which a tracker may bridge)",
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the clips")
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    manifest: Manifest = build(out, gap=args.gap, force=args.rebuild)
    clip, watchlist = out / manifest.clip, out / manifest.watchlist
    lfw = out / (manifest.lfw500 or "lfw500")
    clip_name = Path(manifest.clip).stem
    plan: list[tuple[Run, int | None]] = []
    for pipeline, skip in (("openlfr", args.skip_openlfr), ("baseline", args.skip_baseline)):
        if not skip:
            plan.append(
                (Run(pipeline, clip_name, clip, watchlist, manifest.segments), args.max_frames)
            )
    if not args.skip_crowd:
        for pipeline, skip in (("openlfr", args.skip_openlfr), ("baseline", args.skip_baseline)):
            if not skip:
                plan.append((Run(pipeline, "crowd_1080p", CROWD, lfw, []), args.crowd_frames))
    results = out / "results"
    results.mkdir(exist_ok=True)
    for run, max_frames in plan:
        json_out = results / f"{run.pipeline}_{run.clip}.json"
        if run.pipeline == "openlfr":
            run_openlfr(run, json_out, args.threshold, args.timeout)
        else:
            run_base(run, max_frames, out / "cache", json_out)
        if run.error:
            console.print(f"[red]{run.pipeline} on {run.clip} failed:[/] {run.error}")
    runs = [r for r, _ in plan]
    scores = [score(r) for r in runs]
    rows = table_rows(runs, scores)
    meta = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()} {platform.machine()} {platform.processor()}".strip(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "notes": NOTES,
    }
    table = Table(title="Video pipeline: openlfr vs face_recognition default", show_lines=True)
    for col in COLUMNS:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*row)
    screen = Console()
    if not screen.is_terminal:
        screen = Console(width=200)
    screen.print(table)
    (out / "video_pipeline.md").write_text(render_markdown(rows, meta))
    report = {
        **meta,
        "manifest": manifest.to_json(),
        "columns": COLUMNS,
        "rows": rows,
        "runs": [
            {
                "pipeline": r.pipeline,
                "clip": r.clip,
                "video": str(r.video),
                "watchlist": str(r.watchlist),
                "command": r.command,
                "error": r.error,
                "wall_seconds": round(r.wall_seconds, 2),
                "score": s,
                "result": r.result,
            }
            for r, s in zip(runs, scores, strict=True)
        ],
    }
    (out / "video_pipeline.json").write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {out / 'video_pipeline.md'} and {out / 'video_pipeline.json'}")
    return 0 if all(r.error is None for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
