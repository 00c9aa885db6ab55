"""Where a single stream's time goes: per-stage timers over the talking-head benchmark clip.

    nice -n 10 python benchmarks/video_profile.py [--out out/bench] [--every N] [--repeat R]
        [--camera]

Runs the steps of the shared inference stage (`pipeline.inference.analyse_batch`) for one
camera on one thread, over the clip `video_pipeline.py` builds (make_clips), and prints the
milliseconds each stage costs per frame: decode, conversion to BGR, detection (and the resize
inside it), tracking, alignment, quality, embedding, search and the decision. `--every`
overrides vision.full_detect_every (1: full-size detection on every frame, as before
pipeline/detect_scale.py). `--camera` profiles one of `cameras.py`'s 720p camera clips instead
(its reference gallery), keeping video.analysis_fps frames a second as a camera's runner does:
what each analysed frame of a many-camera run costs. No threads, no store: `video_pipeline.py`
and `cameras.py` measure end to end.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from make_clips import REPO, build

from openlfr.config import Settings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline import analysis as stages
from openlfr.pipeline.analysis import CameraAnalysis
from openlfr.video.file_source import FileSource
from openlfr.video.runner import RateGate
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.images import find_single_face

Timers = defaultdict[str, list[float]]


def timed(timers: Timers, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timers[name].append(time.perf_counter() - start)

    return wrapper


def _talking_heads(out: Path, detector: Any, embedder: Any) -> tuple[Path, NumpyGallery]:
    manifest = build(out)
    refs = []
    for person in sorted((out / manifest.watchlist).iterdir()):
        img = cv2.imread(str(next(person.iterdir())))
        assert img is not None, person
        face = find_single_face(img, detector, person.name)
        refs.append(embedder.embed(face.image, face.detections.landmarks).vectors[0])
    return out / manifest.clip, NumpyGallery(np.stack(refs), np.arange(len(refs)))


def _camera_clip(detector: Any, embedder: Any) -> tuple[Path, NumpyGallery]:
    from cameras_support import CLIPS, build_clip, reference_gallery

    out = Path("/tmp/openlfr-bench-cameras")
    out.mkdir(parents=True, exist_ok=True)
    return build_clip(CLIPS[0], out, 24), reference_gallery(detector, embedder)


def profile(out: Path, every: int | None, camera: bool = False) -> tuple[dict[str, Any], Timers]:
    s = Settings()
    if every is not None:
        s = s.model_copy(
            update={"vision": s.vision.model_copy(update={"full_detect_every": every})}
        )
    detector, embedder = build_detector(s.vision), build_embedder(s.vision)
    clip, gallery = (_camera_clip if camera else partial(_talking_heads, out))(detector, embedder)
    gate = RateGate(s.video.analysis_fps if camera else 0.0)
    t: Timers = defaultdict(list)
    # Instance attributes and the analysis module's names: nothing global is patched for long.
    analysis = CameraAnalysis(
        gallery=gallery,
        settings=s,
        threshold=s.matching.threshold,
        fps=s.video.analysis_fps if camera else 25.0,
    )
    saved = {n: getattr(stages, n) for n in ("align_face", "assess", "context_crop")}
    stages.align_face = timed(t, "align", stages.align_face)
    stages.assess = timed(t, "quality", stages.assess)
    stages.context_crop = timed(t, "crop", stages.context_crop)
    resize = cv2.resize
    cv2.resize = timed(t, "detect: resize", resize)
    tracker = analysis._tracker
    tracker.update = timed(t, "track", tracker.update)  # type: ignore[method-assign]
    gallery.search = timed(t, "search", gallery.search)  # type: ignore[method-assign]
    source = FileSource(clip, "profile")
    frames, alerts = 0, 0
    start = time.perf_counter()
    try:
        pictures = source.decoded()
        while True:
            t0 = time.perf_counter()
            picture = next(pictures, None)
            if picture is None:
                break
            if not gate.keep(picture.timestamp):
                t["decode"].append(time.perf_counter() - t0)
                continue
            t1 = time.perf_counter()
            frame = picture.to_frame()
            t2 = time.perf_counter()
            dets = analysis.detect(detector, frame)
            t3 = time.perf_counter()
            pending = analysis.prepare(frame, dets, detector.refine)
            t4 = time.perf_counter()
            vectors = embedder.embed_batch([p.aligned for p in pending]).vectors
            t5 = time.perf_counter()
            alerts += len(analysis.decide(frame, pending, vectors))
            t6 = time.perf_counter()
            for name, a, b in (
                ("decode", t0, t1),
                ("to BGR", t1, t2),
                ("detect (total)", t2, t3),
                ("prepare (total)", t3, t4),
                ("decide (total)", t5, t6),
            ):
                t[name].append(b - a)
            if pending:
                t["embed"].append(t5 - t4)
            frames += 1
    finally:
        cv2.resize = resize
        for name, fn in saved.items():
            setattr(stages, name, fn)
    wall = time.perf_counter() - start
    counters = analysis.finish()
    return {
        "frames": frames,
        "fps": frames / wall,
        "alerts": alerts,
        "embedded": counters.embedded,
        "tracks": counters.tracks,
        "faces": counters.faces,
        "keyframes": analysis.scale.keyframes,
        "shrunk": analysis.scale.shrunk,
        "load": os.getloadavg()[0],
    }, t


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "out" / "bench", help="clip folder")
    parser.add_argument("--every", type=int, default=None, help="vision.full_detect_every")
    parser.add_argument("--repeat", type=int, default=1, help="runs (the last is printed)")
    parser.add_argument("--camera", action="store_true", help="a 720p camera clip at 10 fps")
    args = parser.parse_args(argv)
    for _ in range(args.repeat):
        res, t = profile(args.out.resolve(), args.every, args.camera)
    n = res["frames"]
    print(
        f"{n} frames, {res['fps']:.1f} fps, load {res['load']:.2f}; faces {res['faces']}, "
        f"tracks {res['tracks']}, embedded {res['embedded']}, alerts {res['alerts']}; "
        f"keyframes {res['keyframes']}, shrunk {res['shrunk']}"
    )
    print("| stage | ms per frame | calls |\n|---|---|---|")
    for name in sorted(t, key=lambda k: -sum(t[k])):
        print(f"| {name} | {sum(t[name]) * 1000 / max(n, 1):.2f} | {len(t[name])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
