"""Turned and distant faces: recall and false alerts, hard pose gate vs pose-aware evidence.

    nice -n 10 python benchmarks/turned_faces.py [--out out/turned] [--step 2] [--seconds 6]

Dev clips made from ../shared/data (never the holdout), written to OUT as mp4 for inspection:
* `turned/<id>.mp4`: the first --seconds of each talking head (WDA_*, RD_*) and selfie_portrait,
  whose heads turn (pose asymmetry 0.45-0.85 on many frames);
* `turned-only/<id>.mp4`: only the frames of each whose face is turned past the old gate
  (asymmetry > 0.45), when there are at least 6;
* `small/<id>.mp4`: the same frames downscaled so the face is ~--small-px (32) px tall, centred
  on a 640x360 black frame (a distant person);
* `group/<photo>.mp4`: bbt/_group_photos and deepface couple.jpg as 2 s still clips.
Watchlist: one reference per talking head at 7.5 s (selfie: its most frontal face after 6.5 s),
i.e. frames no clip uses, RD_Radio34 left out; plus the 8 bbt cast members' first image.
Each clip is analysed by the live CameraAnalysis twice: `before` (floors at the old gate:
asymmetry 0.45, 40 px) and `after` (pose/size evidence, EvidenceSettings defaults), at the
operating threshold (MatchingSettings.threshold unless --threshold). Prints a table.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from make_clips import DATA, LEAVE_OUT, REPO, VIDEO_DIR, identity_of, talking_head_sources
from rich.console import Console
from rich.table import Table

from openlfr.config import Settings
from openlfr.config_evidence import EvidenceSettings
from openlfr.matching.gallery import NumpyGallery
from openlfr.pipeline.analysis import CameraAnalysis
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder
from openlfr.vision.quality import pose_asymmetry
from openlfr.vision.types import Frame

BBT = DATA / "bbt"
console = Console(width=150)


@dataclass
class Clip:
    kind: str
    name: str
    identity: str | None  # who is in it (None: several/unknown people)
    frames: list[np.ndarray]
    fps: float


def read_frames(path: Path, start: float, stop: float) -> tuple[list[np.ndarray], float]:
    cap = cv2.VideoCapture(str(path))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    out, i = [], 0
    while True:
        ok, img = cap.read()
        if not ok or i / fps >= stop:
            break
        if i / fps >= start:
            out.append(img)
        i += 1
    cap.release()
    return out, fps


def largest(det: Detector, image: np.ndarray) -> int | None:
    d = det.detect(image)
    return int(np.argmax(d.sizes)) if len(d) else None


def turned_past(det: Detector, image: np.ndarray, k: int, bar: float = 0.45) -> bool:
    return pose_asymmetry(det.detect(image).landmarks[k]) > bar


def reference(det: Detector, emb: Embedder, frames: list[np.ndarray]) -> np.ndarray | None:
    """The most frontal largest face among `frames`, embedded."""
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for img in frames:
        d = det.detect(img)
        if not len(d):
            continue
        k = int(np.argmax(d.sizes))
        asym = pose_asymmetry(d.landmarks[k])
        if best is None or asym < best[0]:
            best = (asym, img, d.landmarks[k])
    if best is None:
        return None
    return emb.embed(best[1], best[2][None]).vectors[0]


def downscale(frames: list[np.ndarray], face_px: float, target: float) -> list[np.ndarray]:
    scale = target / face_px
    out = []
    for img in frames:
        small = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        canvas = np.zeros((360, 640, 3), np.uint8)
        h, w = min(small.shape[0], 360), min(small.shape[1], 640)
        y, x = (360 - h) // 2, (640 - w) // 2
        canvas[y : y + h, x : x + w] = small[:h, :w]
        out.append(canvas)
    return out


def write(path: Path, frames: list[np.ndarray], fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()


def build(
    det: Detector, emb: Embedder, seconds: float, small_px: float
) -> tuple[list[Clip], dict[str, np.ndarray]]:
    refs: dict[str, np.ndarray] = {}
    clips: list[Clip] = []
    sources = [*talking_head_sources(), VIDEO_DIR / "selfie_portrait.mp4"]
    for src in sources:
        ident = identity_of(src)
        frames, fps = read_frames(src, 0.0, seconds)
        ref_frames = (
            read_frames(src, 7.5, 8.0)[0]
            if src.name != "selfie_portrait.mp4"
            else (read_frames(src, seconds + 0.5, 99.0)[0])
        )
        if ident not in LEAVE_OUT:
            ref = reference(det, emb, ref_frames)
            if ref is not None:
                refs[ident] = ref
        clips.append(Clip("turned", ident, ident, frames, fps))
        # Only the frames where the head is turned past the old gate: no frontal view to lean on.
        turned = [
            f for f in frames if (k := largest(det, f)) is not None and turned_past(det, f, k)
        ]
        if len(turned) >= 6:
            clips.append(Clip("turned-only", ident, ident, turned, fps))
        sizes = [
            float(det.detect(f).sizes.max())
            for f in frames[:: max(1, len(frames) // 5)]
            if len(det.detect(f))
        ]
        if sizes:
            clips.append(
                Clip("small", ident, ident, downscale(frames, np.median(sizes), small_px), fps)
            )
    for person in sorted(p for p in BBT.iterdir() if p.is_dir() and not p.name.startswith("_")):
        first = sorted(person.iterdir())[0]
        image = cv2.imread(str(first))
        ref = reference(det, emb, [image]) if image is not None else None
        if ref is not None:
            refs[f"bbt_{person.name}"] = ref
    photos = [*sorted((BBT / "_group_photos").glob("*.jpg")), DATA / "deepface/images/couple.jpg"]
    for photo in photos:
        img = cv2.imread(str(photo))
        if img is not None:
            clips.append(Clip("group", photo.stem, None, [img] * 50, 25.0))
    return clips, refs


def analyse(
    clip: Clip,
    det: Detector,
    emb: Embedder,
    gallery: NumpyGallery,
    names: list[str],
    settings: Settings,
    threshold: float,
    step: int,
) -> tuple[set[str], int, int]:
    """Labels alerted, faces embedded, faces seen."""
    cam = CameraAnalysis(
        gallery=gallery, settings=settings, threshold=threshold, fps=clip.fps / step
    )
    alerted: set[str] = set()
    for i, img in enumerate(clip.frames[::step]):
        frame = Frame(image=img, camera_id="bench", index=i, timestamp=i * step / clip.fps)
        pending = cam.prepare(frame, det.detect(img), det.refine)
        vecs = (
            emb.embed_batch([p.aligned for p in pending]).vectors
            if pending
            else np.zeros((0, 128), np.float32)
        )
        alerted |= {names[a.label] for a in cam.decide(frame, pending, vecs)}
    c = cam.finish()
    return alerted, c.embedded, c.faces


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--out", type=Path, default=REPO / "out" / "turned")
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--step", type=int, default=2, help="analyse every Nth frame (default 2)")
    ap.add_argument("--small-px", type=float, default=32.0)
    ap.add_argument("--threshold", type=float, default=None)
    args = ap.parse_args(argv)
    base = Settings()
    det, emb = build_detector(base.vision), build_embedder(base.vision)
    clips, refs = build(det, emb, args.seconds, args.small_px)
    for c in clips:
        write(args.out / c.kind / f"{c.name}.mp4", c.frames, c.fps)
    names = sorted(refs)
    gallery = NumpyGallery(np.stack([refs[n] for n in names]), np.arange(len(names)))
    threshold = args.threshold if args.threshold is not None else base.matching.threshold
    modes = {
        "before": base.model_copy(
            update={
                "evidence": EvidenceSettings(
                    hard_max_asymmetry=base.quality.max_asymmetry,
                    hard_min_face_px=base.quality.min_face_px,
                )
            }
        ),
        "after": base,
    }
    table = Table(
        title=f"turned/small/group dev clips, threshold {threshold:.3f}, step {args.step}"
    )
    for col in [
        "kind",
        "clip",
        "enrolled",
        "faces",
        "embedded before/after",
        "hit before",
        "hit after",
        "false alerts before/after",
    ]:
        table.add_column(col)
    totals = {m: [0, 0, 0] for m in modes}  # hits, enrolled, false alerts
    for clip in clips:
        res = {
            m: analyse(clip, det, emb, gallery, names, s, threshold, args.step)
            for m, s in modes.items()
        }
        enrolled = clip.identity in refs
        cells = []
        for m, (alerted, _, _) in res.items():
            if clip.identity is None:  # group photo: any non-cast label is a false alert
                false = {
                    a for a in alerted if not (clip.name.startswith("bbt") and a.startswith("bbt_"))
                }
                hit = f"{len(alerted - false)} cast"
            else:
                false = alerted - {clip.identity}
                hit = ("yes" if clip.identity in alerted else "no") if enrolled else "-"
                totals[m][0] += int(clip.identity in alerted)
                totals[m][1] += int(enrolled)
            totals[m][2] += len(false)
            cells.append((hit, len(false)))
        table.add_row(
            clip.kind,
            clip.name,
            "-" if clip.identity is None else str(enrolled),
            str(res["before"][2]),
            f"{res['before'][1]}/{res['after'][1]}",
            cells[0][0],
            cells[1][0],
            f"{cells[0][1]}/{cells[1][1]}",
        )
    console.print(table)
    for m, (h, n, f) in totals.items():
        console.print(f"{m}: recall {h}/{n} enrolled clips, {f} false alerts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
