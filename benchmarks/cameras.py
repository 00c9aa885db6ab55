"""Many cameras on one machine: N paced 720p cameras through ONE shared inference stage.

    nice -n 10 python benchmarks/cameras.py [--n 1,4,12] [--seconds 20] [--ray-n 2]
        [--ray-address HOST:PORT] [--detect-batching] [--out /tmp/openlfr-bench-cameras]

Inputs (built once into --out, never into the repository): the five talking-head clips of
../shared/data/video (512x512, 25 fps), their first 6 s letterboxed to 1280x720 and looped to
--seconds + 4 s, re-encoded as H.264. Camera i plays clip i mod 5 in real time (a paced file
source: frames come at 25 fps whatever analysis does, like a camera), analysed at
video.analysis_fps (10). The watchlist is one reference per person taken at 7.5 s (footage no
camera plays). Each N runs in a fresh process, so its RSS is its own.

Prints per N: analysed fps per camera (min, median), frames skipped/dropped, p50/p95 latency
from a frame leaving its source to its alert being raised, RSS and RSS per additional camera,
CPU use, recall per identity (share of the cameras showing a person that alerted on them) and
false alerts; then Ray on this machine (one actor per camera, each with its own models, as
`--engine ray` runs) against in-process at --ray-n cameras; with --detect-batching, YuNet's
forward pass on a batch of N frames against N single frames (why detection is not batched).
The machine's load average is printed with each row: others may share it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cameras_support import (
    CLIPS,
    REPO,
    build_clip,
    detect_batching,
    reference_gallery,
    rss_mb,
    thread_cpu,
)


class _Control:
    def __init__(self, gallery: Any, until: float) -> None:
        self._gallery, self._until = gallery, until
        self.runners: list[Any] = []

    def gallery(self) -> tuple[int, Any]:
        return 0, self._gallery

    def why_stop(self) -> str | None:
        return "time up" if time.monotonic() >= self._until else None

    def add_runner(self, runner: Any) -> None:
        self.runners.append(runner)


class _Sink:
    def __init__(self, captured: Any) -> None:
        self.captured = captured
        self.labels: list[int] = []
        self.latency: list[float] = []

    def raise_alert(self, alert: Any) -> None:
        at = self.captured.of(alert.frame_index)
        self.labels.append(int(alert.label))
        if at is not None:
            self.latency.append(time.time() - at)


def run_cameras(paths: list[Path], seconds: float, models: Any = None) -> dict[str, Any]:
    """N cameras, one shared stage, in this process; returns per-camera figures."""
    from openlfr.config import Settings
    from openlfr.pipeline.alerts import CaptureTimes
    from openlfr.pipeline.camera_loop import CameraLoop
    from openlfr.pipeline.inference import InferenceStage
    from openlfr.video.file_source import FileSource
    from openlfr.vision.factory import build_detector, build_embedder

    settings = Settings()
    detector, embedder = models or (
        build_detector(settings.vision),
        build_embedder(settings.vision),
    )
    gallery = reference_gallery(detector, embedder)
    rss_models = rss_mb()
    stage = InferenceStage(detector, embedder).start()
    control = _Control(gallery, time.monotonic() + seconds)
    loops, sinks, threads = [], [], []
    for i, path in enumerate(paths):
        captured = CaptureTimes()
        sink = _Sink(captured)
        loop = CameraLoop(
            source=FileSource(path, f"cam{i}", realtime=True),
            stage=stage,
            sink=sink,
            settings=settings,
            threshold=settings.matching.threshold,
            control=control,
            captured=captured,
        )
        loops.append(loop)
        sinks.append(sink)
        threads.append(threading.Thread(target=loop.run, name=f"bench-loop-{i}", daemon=True))
    load_before = os.getloadavg()[0]
    cpu0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for t in threads:
        t.start()
    peak = 0.0
    roles0 = thread_cpu()
    while time.monotonic() < t0 + seconds:
        time.sleep(0.5)
        peak = max(peak, rss_mb())
    roles1 = thread_cpu()
    roles = {k: v - roles0.get(k, 0.0) for k, v in roles1.items()}
    for r in control.runners:
        r.stop(timeout=2.0)
    for t in threads:
        t.join(10.0)
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    stage.close()
    cams = []
    for i, (loop, sink) in enumerate(zip(loops, sinks, strict=True)):
        c = loop.counters()
        cams.append(
            dict(
                identity=i % len(CLIPS),
                frames=c.frames,
                skipped=c.skipped,
                dropped=c.dropped,
                alert_labels=sink.labels,
                latency=sink.latency,
            )
        )
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return dict(
        cameras=cams,
        wall=wall,
        cpu_pct=100 * cpu / wall,
        rss_peak_mb=peak,
        rss_models_mb=rss_models,
        batches=stage.batches,
        stage_frames=stage.frames,
        load=os.getloadavg(),
        load_before=load_before,
        roles=roles,
        decoded=sum(c.frames + c.skipped + c.dropped for c in (lp.counters() for lp in loops)),
    )


def run_ray(paths: list[Path], seconds: float, address: str | None) -> dict[str, Any]:
    """One Ray actor per camera, each with its own models and stage (as the Ray engine runs)."""
    import ray

    if address:
        ray.init(address=address, namespace="openlfr-bench", log_to_driver=False)
    else:
        # address="local": a private cluster even where another one runs on this machine.
        ray.init(
            address="local",
            include_dashboard=False,
            object_store_memory=100_000_000,
            log_to_driver=False,
        )
    try:
        sys_path = [str(REPO / "benchmarks"), str(REPO)]

        @ray.remote(num_cpus=0)
        def one(path: str, index: int) -> dict[str, Any]:
            sys.path[:0] = sys_path
            out = run_cameras([Path(path)], seconds)
            out["cameras"][0]["identity"] = index % len(CLIPS)
            return out

        t0 = time.monotonic()
        outs = ray.get([one.remote(str(p), i) for i, p in enumerate(paths)])
        cams = [o["cameras"][0] for o in outs]
        return dict(cameras=cams, wall=time.monotonic() - t0, load=os.getloadavg())
    finally:
        ray.shutdown()


def summarise(n: int, res: dict[str, Any], seconds: float) -> dict[str, Any]:
    cams = res["cameras"]
    fps = [c["frames"] / seconds for c in cams]
    lat = sorted(x for c in cams for x in c["latency"])
    by_id: dict[int, list[bool]] = {}
    false = 0
    for c in cams:
        by_id.setdefault(c["identity"], []).append(c["identity"] in c["alert_labels"])
        false += sum(1 for lab in c["alert_labels"] if lab != c["identity"])
    recall = {CLIPS[k]: sum(v) / len(v) for k, v in sorted(by_id.items())}

    def pct(p: float) -> float | None:
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None

    frames = sum(c["frames"] for c in cams)
    cpu_s = res["cpu_pct"] / 100 * res["wall"] if res.get("cpu_pct") is not None else None
    return dict(
        n=n,
        # CPU per analysed frame, decoding included: what load on a shared machine changes
        # least (fps does not: it is whatever CPU the others leave).
        cpu_ms_frame=cpu_s / frames * 1000 if cpu_s is not None and frames else None,
        # ms of CPU by role: stage, loop, native pool and other per analysed frame; decode per
        # decoded frame. A paced camera costs 25 decodes and analysis_fps analyses a second.
        roles_ms={
            k: v / (res["decoded"] if k == "decode" else frames) * 1000
            for k, v in res.get("roles", {}).items()
            if frames and res.get("decoded")
        },
        load_before=res.get("load_before"),
        fps_min=min(fps),
        fps_median=statistics.median(fps),
        frames=sum(c["frames"] for c in cams),
        skipped=sum(c["skipped"] for c in cams),
        dropped=sum(c["dropped"] for c in cams),
        p50=pct(0.5),
        p95=pct(0.95),
        rss=res.get("rss_peak_mb"),
        rss_models=res.get("rss_models_mb"),
        cpu=res.get("cpu_pct"),
        recall=recall,
        false_alerts=false,
        load=res["load"][0],
    )


def _row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |")


def _fmt(v: float | None, spec: str = ".2f") -> str:
    return "-" if v is None else format(v, spec)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", default="1,4,12", help="camera counts, comma-separated")
    p.add_argument("--seconds", type=float, default=20.0, help="run length per N")
    p.add_argument("--ray-n", type=int, default=2, help="cameras for Ray vs in-process (0: skip)")
    p.add_argument("--ray-address", default=None, help="a running cluster (default: private)")
    p.add_argument("--detect-batching", action="store_true")
    p.add_argument("--out", type=Path, default=Path("/tmp/openlfr-bench-cameras"))
    p.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--engine", default="in-process", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    paths = [build_clip(name, a.out, a.seconds + 4) for name in CLIPS]
    if a.worker:
        cams = [paths[i % len(paths)] for i in range(a.worker)]
        if a.engine == "ray":
            res = run_ray(cams, a.seconds, a.ray_address)
        else:
            res = run_cameras(cams, a.seconds)
        print(json.dumps(summarise(a.worker, res, a.seconds)))
        return 0

    def sub(n: int, engine: str) -> dict[str, Any]:
        cmd = [sys.executable, __file__, "--worker", str(n), "--engine", engine]
        cmd += ["--seconds", str(a.seconds), "--out", str(a.out)]
        if a.ray_address:
            cmd += ["--ray-address", a.ray_address]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds * 6 + 240)
        if done.returncode != 0:
            raise SystemExit(f"{engine} N={n} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    rows = [sub(int(n), "in-process") for n in a.n.split(",")]
    base = next((r for r in rows if r["n"] == 1), None)
    print(f"## cameras: {a.seconds:g} s per N, 1280x720 paced 25 fps, analysis_fps 10, "
          f"cpus {os.cpu_count()}")  # fmt: skip
    head = ["N", "fps/camera min", "median", "skipped", "dropped", "p50 s", "p95 s", "RSS MB",
            "MB/extra camera", "CPU %", "CPU ms/analysed frame", "recall per identity",
            "false alerts", "load 1m before/after"]  # fmt: skip
    _row(*head)
    _row(*["---"] * len(head))
    for r in rows:
        extra = (r["rss"] - base["rss"]) / (r["n"] - 1) if base and r["n"] > 1 else None
        recall = ", ".join(f"{k.split('_')[1]} {v:.2f}" for k, v in r["recall"].items())
        _row(r["n"], f"{r['fps_min']:.1f}", f"{r['fps_median']:.1f}", r["skipped"], r["dropped"],
             _fmt(r["p50"]), _fmt(r["p95"]), _fmt(r["rss"], ".0f"), _fmt(extra, ".0f"),
             _fmt(r["cpu"], ".0f"), _fmt(r["cpu_ms_frame"], ".1f"), recall, r["false_alerts"],
             f"{_fmt(r['load_before'])}/{r['load']:.2f}")  # fmt: skip
    print("\nCPU by role (ms per analysed frame; decode per decoded frame) and the cameras at "
          "analysis_fps that the measured costs would fit on the cores of this machine if it "
          "were not shared (25 decodes + analysis_fps analyses per camera-second):\n")  # fmt: skip
    roles = ["stage", "loop", "native pool", "other", "decode"]
    _row("N", *roles, "est. cameras")
    _row(*["---"] * (len(roles) + 2))
    for r in rows:
        ms = r["roles_ms"]
        per_cam = 25 * ms.get("decode", 0.0) + 10 * sum(v for k, v in ms.items() if k != "decode")
        est = (os.cpu_count() or 1) * 1000 / per_cam if per_cam else None
        _row(r["n"], *(_fmt(ms.get(k), ".1f") for k in roles), _fmt(est, ".1f"))
    if a.ray_n:
        local = next((r for r in rows if r["n"] == a.ray_n), None) or sub(a.ray_n, "in-process")
        ray_row = sub(a.ray_n, "ray")
        ratio = ray_row["frames"] / local["frames"] if local["frames"] else 0.0
        print()
        _row(f"engine (N={a.ray_n})", "frames analysed", "fps/camera median", "p95 s", "load 1m")
        _row(*["---"] * 5)
        for name, r in (("in-process", local), ("ray (one machine)", ray_row)):
            _row(name, r["frames"], f"{r['fps_median']:.1f}", _fmt(r["p95"]), f"{r['load']:.2f}")
        print(f"\nRay/in-process analysed frames: {ratio:.2f} ({(1 - ratio) * 100:+.0f}% fewer)")
    if a.detect_batching:
        print("\n| YuNet batch n | ms/frame single | ms/frame batched | load 1m |")
        print("|---|---|---|---|")
        for d in detect_batching(paths[0], [1, 2, 4, 8, 12], 5):
            print(f"| {d['n']} | {d['single_ms']:.1f} | {d['batched_ms']:.1f} | {d['load']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
