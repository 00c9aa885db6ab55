"""Build the video benchmark's inputs into an output folder (never into the repository).

* `talking_heads_640x360.mp4`: the talking-head clips `WDA_*.mp4` and `RD_*.mp4` of
  ../shared/data/video (512x512, 25 fps), the first `--seconds` (6) of each, letterboxed to
  640x360 and concatenated with `--gap` (2 s) of black between people, re-encoded with PyAV
  (libx264 / h264 / mpeg4, yuv420p);
* `watchlist/<identity>/ref.jpg`: one reference per person (identity = file stem minus `_000`)
  taken at `--ref-at` (7.5 s), i.e. from footage the concatenated clip does not contain; the
  person(s) of `--leave-out` (RD_Radio34) are not enrolled, so their face must raise no alert;
* `lfw500/<identity>/<first image>`: a 500-identity watchlist from ../shared/data/lfw/images
  (first identities sorted by name), symlinked (copied with `--copy`);
* `clips.json`: the manifest (segments with frame ranges, enrolled or not) the benchmark scores
  against.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data"
VIDEO_DIR = DATA / "video"
LFW_DIR = DATA / "lfw" / "images"
CLIP_NAME = "talking_heads_640x360.mp4"
MANIFEST = "clips.json"
SIZE = (640, 360)
FPS = 25
LEAVE_OUT = ("RD_Radio34",)

console = Console(stderr=True)


@dataclass
class Segment:
    identity: str
    source: str
    first_frame: int
    last_frame: int
    enrolled: bool


@dataclass
class Manifest:
    """What was built and with which settings; `segments` is the clip's ground truth."""

    clip: str
    watchlist: str
    lfw500: str | None
    codec: str
    width: int
    height: int
    fps: int
    frames: int
    seconds_per_clip: float
    ref_at: float
    left_out: list[str]
    segments: list[Segment] = field(default_factory=list)
    gap_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        segs = [Segment(**s) for s in data.pop("segments", [])]
        return cls(**data, segments=segs)


def identity_of(path: Path) -> str:
    """`WDA_KatieHill_000.mp4` -> `WDA_KatieHill`."""
    return path.stem.removesuffix("_000")


def talking_head_sources(video_dir: Path = VIDEO_DIR, limit: int | None = None) -> list[Path]:
    """The WDA_* then RD_* clips, sorted by name within each group."""
    paths = sorted(video_dir.glob("WDA_*.mp4")) + sorted(video_dir.glob("RD_*.mp4"))
    return paths[:limit] if limit else paths


def pick_codec() -> str:
    for name in ("libx264", "h264", "mpeg4"):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
                return name
            except (av.FFmpegError, ValueError):
                continue
    raise RuntimeError("PyAV's FFmpeg offers no h264 or mpeg4 encoder")


def letterbox(rgb: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Scale `rgb` to fit `size` (w, h) keeping its aspect, centred on black."""
    w, h = size
    scale = min(w / rgb.shape[1], h / rgb.shape[0])
    nw, nh = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    small = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((h, w, 3), np.uint8)
    y, x = (h - nh) // 2, (w - nw) // 2
    canvas[y : y + nh, x : x + nw] = small
    return canvas


def frames_between(path: Path, start: float, stop: float) -> list[np.ndarray]:
    """RGB frames of `path` whose timestamps t satisfy start <= t < stop."""
    out = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            t = float(frame.time) if frame.time is not None else 0.0
            if t >= stop:
                break
            if t >= start:
                out.append(frame.to_ndarray(format="rgb24"))
    return out


def write_clip(
    sources: list[Path], out_path: Path, seconds: float, gap: float = 0.0, codec: str | None = None
) -> tuple[str, list[Segment], int]:
    """Concatenate the first `seconds` of each source, letterboxed, into `out_path`, with
    `gap` seconds of black between sources (the frames of a gap belong to no segment)."""
    codec = codec or pick_codec()
    segments: list[Segment] = []
    index = 0
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        av.open(str(out_path), "w") as out,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        stream = out.add_stream(codec, rate=FPS)
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        stream.time_base = Fraction(1, FPS)
        if codec == "libx264":
            stream.options = {"preset": "veryfast", "crf": "20"}
        elif codec == "mpeg4":
            stream.bit_rate = 2_000_000
        task = progress.add_task(f"encoding {out_path.name}", total=len(sources))
        black = av.VideoFrame.from_ndarray(
            np.zeros((SIZE[1], SIZE[0], 3), np.uint8), format="rgb24"
        ).reformat(format="yuv420p")
        for n, src in enumerate(sources):
            for _ in range(round(gap * FPS) if n else 0):
                black.pts = index
                out.mux(stream.encode(black))
                index += 1
            first = index
            for rgb in frames_between(src, 0.0, seconds):
                frame = av.VideoFrame.from_ndarray(letterbox(rgb), format="rgb24")
                frame.pts = index
                out.mux(stream.encode(frame.reformat(format="yuv420p")))
                index += 1
            segments.append(Segment(identity_of(src), src.name, first, index - 1, True))
            progress.advance(task)
        out.mux(stream.encode(None))
    return codec, segments, index


def write_watchlist(
    sources: list[Path], out_dir: Path, ref_at: float, leave_out: tuple[str, ...]
) -> list[str]:
    """`out_dir/<identity>/ref.jpg` from the frame at `ref_at` s of each source not left out."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    enrolled = []
    for src in sources:
        identity = identity_of(src)
        if identity in leave_out:
            continue
        frames = frames_between(src, ref_at, ref_at + 1.0)
        if not frames:
            raise ValueError(f"{src.name} has no frame at {ref_at} s")
        (out_dir / identity).mkdir(parents=True)
        cv2.imwrite(
            str(out_dir / identity / "ref.jpg"),
            cv2.cvtColor(frames[0], cv2.COLOR_RGB2BGR),
            [cv2.IMWRITE_JPEG_QUALITY, 95],
        )
        enrolled.append(identity)
    return enrolled


def write_lfw(out_dir: Path, count: int, copy: bool = False, lfw_dir: Path = LFW_DIR) -> int:
    """`out_dir/<identity>/<first image>` for the first `count` LFW identities by name."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    names = sorted(p.name for p in lfw_dir.iterdir() if p.is_dir())[:count]
    for name in names:
        first = sorted(p for p in (lfw_dir / name).iterdir() if p.suffix.lower() == ".jpg")[0]
        (out_dir / name).mkdir(parents=True)
        target = out_dir / name / first.name
        if copy:
            shutil.copy2(first, target)
        else:
            target.symlink_to(first.resolve())
    return len(names)


def build(
    out: Path,
    *,
    seconds: float = 6.0,
    gap: float = 2.0,
    ref_at: float = 7.5,
    leave_out: tuple[str, ...] = LEAVE_OUT,
    limit: int | None = None,
    lfw: int = 500,
    copy: bool = False,
    force: bool = False,
) -> Manifest:
    """Build everything into `out` unless a manifest with the same settings is already there."""
    out.mkdir(parents=True, exist_ok=True)
    sources = talking_head_sources(limit=limit)
    if not sources:
        raise FileNotFoundError(f"no WDA_*/RD_* clips in {VIDEO_DIR}")
    manifest_path = out / MANIFEST
    if manifest_path.exists() and not force:
        old = Manifest.from_json(json.loads(manifest_path.read_text()))
        same = (
            old.seconds_per_clip == seconds
            and old.ref_at == ref_at
            and old.gap_seconds == gap
            and old.left_out == sorted(leave_out)
            and [s.source for s in old.segments] == [p.name for p in sources]
            and (old.lfw500 is not None) == (lfw > 0)
            and (out / old.clip).exists()
        )
        if same:
            return old
    clip = out / CLIP_NAME
    codec, segments, frames = write_clip(sources, clip, seconds, gap)
    enrolled = set(write_watchlist(sources, out / "watchlist", ref_at, leave_out))
    for seg in segments:
        seg.enrolled = seg.identity in enrolled
    lfw_name = None
    if lfw > 0:
        lfw_name = "lfw500"
        write_lfw(out / lfw_name, lfw, copy)
    manifest = Manifest(
        clip=CLIP_NAME,
        watchlist="watchlist",
        lfw500=lfw_name,
        codec=codec,
        width=SIZE[0],
        height=SIZE[1],
        fps=FPS,
        frames=frames,
        seconds_per_clip=seconds,
        ref_at=ref_at,
        left_out=sorted(leave_out),
        segments=segments,
        gap_seconds=gap,
    )
    manifest_path.write_text(json.dumps(manifest.to_json(), indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the video benchmark inputs: a 640x360 clip concatenating the "
        "talking-head videos, a watchlist of references taken from footage the clip does not "
        "use (one person left out), a 500-identity LFW watchlist, and clips.json.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "out" / "bench",
        help="output folder (default: out/bench, ignored by git)",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=6.0,
        help="seconds of each source clip put in the concatenation (default 6)",
    )
    parser.add_argument(
        "--gap",
        type=float,
        default=2.0,
        help="seconds of black between people (default 2; 0 = hard cuts, "
        "which a tracker may bridge, keeping one track across two people)",
    )
    parser.add_argument(
        "--ref-at",
        type=float,
        default=7.5,
        help="time (s) of the watchlist reference frame (default 7.5)",
    )
    parser.add_argument(
        "--leave-out",
        nargs="*",
        default=list(LEAVE_OUT),
        help="identities kept out of the watchlist (default RD_Radio34)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="use only the first N talking-head clips"
    )
    parser.add_argument(
        "--lfw", type=int, default=500, help="LFW identities in lfw500/ (0: skip; default 500)"
    )
    parser.add_argument(
        "--copy", action="store_true", help="copy the LFW images instead of symlinking them"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    manifest = build(
        args.out,
        seconds=args.seconds,
        gap=args.gap,
        ref_at=args.ref_at,
        leave_out=tuple(args.leave_out),
        limit=args.limit,
        lfw=args.lfw,
        copy=args.copy,
        force=args.force,
    )
    console.print(
        f"[green]built[/] {args.out / manifest.clip}: {manifest.frames} frames, "
        f"{manifest.width}x{manifest.height}, {manifest.codec}; "
        f"left out of the watchlist: {', '.join(manifest.left_out) or 'nobody'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
