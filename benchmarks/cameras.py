"""Many cameras on one machine: N paced 720p cameras through ONE shared inference stage.

    nice -n 10 python benchmarks/cameras.py [--n 1,4,12] [--seconds 20] [--ray-n 2]
        [--ray-address HOST:PORT] [--detect-batching] [--source file|rtsp|http]
        [--out /tmp/openlfr-bench-cameras]

Inputs (built once into --out, never into the repository): the five talking-head clips of
../shared/data/video (512x512, 25 fps), their first 6 s letterboxed to 1280x720 and looped to
--seconds + 6 s, re-encoded as H.264 (a key frame a second, no B-frames). Camera i plays clip i
mod 5 in real time, analysed at video.analysis_fps (10): with `--source file` a paced file
source (frames come at 25 fps whatever analysis does, like a camera); with `--source rtsp` a
live H.264 stream from GStreamer's RTSP server on loopback (a separate process, whose CPU is
shown apart), read through the StreamSource a camera URL gets; with `--source http` the same
H.264 remuxed to MPEG-TS and sent over plain HTTP at its bit rate, as an IP camera's HTTP
stream (one server process, benchmarks/http_ts_server.py, CPU shown apart). The watchlist is
one reference per person taken at 7.5 s (footage no camera plays). Each N runs in a fresh
process, so its RSS is its own; fps, drops and CPU are counted over --seconds after 2 s of
warm-up (connections, first frames).

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cameras_support import (
    CLIPS,
    REPO,
    SourceMaker,
    build_clip,
    camera_sources,
    detect_batching,
    process_cpu_s,
    reference_gallery,
    rss_mb,
    thread_cpu,
)

#: Seconds from the start before the counting window opens: cameras connect and models warm.
WARMUP_S = 2.0


@dataclass(frozen=True)
class _Mark:
    """What the process had done by one instant: the counting window is between two."""

    t: float
    cpu: float
    roles: dict[str, float]
    server: float
    counters: list[Any]


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


def run_cameras(
    paths: list[Path], seconds: float, models: Any = None, source: str = "file"
) -> dict[str, Any]:
    """N cameras, one shared stage, in this process; returns per-camera figures."""
    with camera_sources(source, paths, paths[0].parent) as (make, server):
        return _run(paths, seconds, models, make, server)


def _run(
    paths: list[Path], seconds: float, models: Any, make: SourceMaker, server: Any
) -> dict[str, Any]:
    from openlfr.config import Settings
    from openlfr.pipeline.alerts import CaptureTimes
    from openlfr.pipeline.camera_loop import CameraLoop
    from openlfr.pipeline.inference import InferenceStage
    from openlfr.vision.factory import build_detector, build_embedder

    settings = Settings()
    detector, embedder = models or (
        build_detector(settings.vision),
        build_embedder(settings.vision),
    )
    gallery = reference_gallery(detector, embedder)
    rss_models = rss_mb()
    stage = InferenceStage.for_cameras(
        detector, embedder, len(paths), settings.vision.inference_workers
    ).start()
    # Counted over a window that opens WARMUP_S after the start, once every camera streams
    # (an RTSP connection takes a moment), and closes before any camera is told to stop.
    control = _Control(gallery, time.monotonic() + WARMUP_S + seconds + 1.0)
    loops, sinks, threads = [], [], []
    for i, path in enumerate(paths):
        captured = CaptureTimes()
        sink = _Sink(captured)
        loop = CameraLoop(
            source=make(i, path),
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
    t0 = time.monotonic()
    for t in threads:
        t.start()
    peak = 0.0
    marks = []
    for at in (t0 + WARMUP_S, t0 + WARMUP_S + seconds):
        while time.monotonic() < at:
            time.sleep(min(0.5, max(0.0, at - time.monotonic())))
            peak = max(peak, rss_mb())
        usage = resource.getrusage(resource.RUSAGE_SELF)
        marks.append(
            _Mark(
                t=time.monotonic(),
                cpu=usage.ru_utime + usage.ru_stime,
                roles=thread_cpu(),
                server=process_cpu_s(server.pid if server is not None else None),
                counters=[lp.counters() for lp in loops],
            )
        )
    for r in control.runners:
        r.stop(timeout=2.0)
    for t in threads:
        t.join(10.0)
    stage.close()
    start, end = marks
    wall = end.t - start.t
    roles = {k: v - start.roles.get(k, 0.0) for k, v in end.roles.items()}
    cams = []
    for i, (a, b, sink) in enumerate(zip(start.counters, end.counters, sinks, strict=True)):
        cams.append(
            dict(
                identity=i % len(CLIPS),
                frames=b.frames - a.frames,
                skipped=b.skipped - a.skipped,
                dropped=b.dropped - a.dropped,
                reconnects=b.reconnects,
                alert_labels=sink.labels,
                latency=sink.latency,
            )
        )
    return dict(
        cameras=cams,
        wall=wall,
        cpu_pct=100 * (end.cpu - start.cpu) / wall,
        server_cpu_pct=100 * (end.server - start.server) / wall if server else None,
        rss_peak_mb=peak,
        rss_models_mb=rss_models,
        batches=stage.batches,
        stage_frames=stage.frames,
        load=os.getloadavg(),
        load_before=load_before,
        roles=roles,
        decoded=sum(c["frames"] + c["skipped"] + c["dropped"] for c in cams),
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
        server_cpu=res.get("server_cpu_pct"),
        reconnects=sum(c.get("reconnects", 0) for c in cams),
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
    p.add_argument(
        "--source",
        default="file",
        choices=("file", "rtsp", "http"),
        help="file: each clip read in real time; rtsp: served live by GStreamer's RTSP server "
        "on loopback (needs /usr/bin/python3 with python3-gst-1.0 and gst-rtsp-server); http: "
        "remuxed to MPEG-TS and served live over plain HTTP at its bit rate on loopback",
    )
    p.add_argument("--out", type=Path, default=Path("/tmp/openlfr-bench-cameras"))
    p.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--engine", default="in-process", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    paths = [build_clip(name, a.out, a.seconds + WARMUP_S + 4) for name in CLIPS]
    if a.worker:
        cams = [paths[i % len(paths)] for i in range(a.worker)]
        if a.engine == "ray":
            res = run_ray(cams, a.seconds, a.ray_address)
        else:
            res = run_cameras(cams, a.seconds, source=a.source)
        print(json.dumps(summarise(a.worker, res, a.seconds)))
        return 0

    def sub(n: int, engine: str, source: str = a.source) -> dict[str, Any]:
        cmd = [sys.executable, __file__, "--worker", str(n), "--engine", engine]
        cmd += ["--seconds", str(a.seconds), "--out", str(a.out)]
        cmd += ["--source", source]
        if a.ray_address:
            cmd += ["--ray-address", a.ray_address]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=a.seconds * 6 + 240)
        if done.returncode != 0:
            raise SystemExit(f"{engine} N={n} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    rows = [sub(int(n), "in-process") for n in a.n.split(",")]
    base = next((r for r in rows if r["n"] == 1), None)
    print(f"## cameras ({a.source}): {a.seconds:g} s per N after {WARMUP_S:g} s of warm-up, "
          f"1280x720 paced 25 fps, analysis_fps 10, cpus {os.cpu_count()}")  # fmt: skip
    head = ["N", "fps/camera min", "median", "skipped", "dropped", "p50 s", "p95 s", "RSS MB",
            "MB/extra camera", "CPU %", "CPU ms/analysed frame", "recall per identity",
            "false alerts", "reconnects", "server CPU %", "load 1m before/after"]  # fmt: skip
    _row(*head)
    _row(*["---"] * len(head))
    for r in rows:
        extra = (r["rss"] - base["rss"]) / (r["n"] - 1) if base and r["n"] > 1 else None
        recall = ", ".join(f"{k.split('_')[1]} {v:.2f}" for k, v in r["recall"].items())
        _row(r["n"], f"{r['fps_min']:.1f}", f"{r['fps_median']:.1f}", r["skipped"], r["dropped"],
             _fmt(r["p50"]), _fmt(r["p95"]), _fmt(r["rss"], ".0f"), _fmt(extra, ".0f"),
             _fmt(r["cpu"], ".0f"), _fmt(r["cpu_ms_frame"], ".1f"), recall, r["false_alerts"],
             r["reconnects"], _fmt(r["server_cpu"], ".0f"),
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
        # Ray's actors read paced files, so in-process is compared on files too.
        same = [r for r in rows if r["n"] == a.ray_n] if a.source == "file" else []
        local = same[0] if same else sub(a.ray_n, "in-process", "file")
        ray_row = sub(a.ray_n, "ray", "file")
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
