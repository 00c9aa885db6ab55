"""Demo material made at run time from scikit-image's sample portrait (NASA's public-domain
photograph of astronaut Eileen Collins) or from the talking-head clips in ../shared/data.

The project ships no photographs of people: everything here is generated into a temporary
folder and deleted after the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np


@dataclass
class DemoMaterial:
    """Enrolment images per subject, camera feeds, and who should (not) raise an alert."""

    references: dict[str, list[Path]] = field(default_factory=dict)
    ineligible: dict[str, Path] = field(default_factory=dict)  # subject -> image (NFA outcome)
    decoys: dict[str, list[Path]] = field(default_factory=dict)
    cameras: list[tuple[str, str]] = field(default_factory=list)
    expected_alerts: set[str] = field(default_factory=set)
    people: int = 0  # distinct people who walk past the cameras, each one track
    description: str = ""


def _write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        for img in frames:
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[:, :, ::-1])


def _custody_photo(portrait: np.ndarray) -> np.ndarray:
    """A different 'capture' of the same person: tighter crop, slight turn, other exposure."""
    crop = portrait[20:260, 110:340]
    h, w = crop.shape[:2]
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), 6.0, 1.0)
    crop = cv2.warpAffine(crop, turn, (w, h), borderMode=cv2.BORDER_REPLICATE)
    crop = cv2.convertScaleAbs(crop, alpha=0.85, beta=18)
    return cv2.resize(crop, (w * 3 // 2, h * 3 // 2), interpolation=cv2.INTER_CUBIC)


def _street_feed(portrait: np.ndarray, seconds: float = 6.0, fps: int = 25) -> list[np.ndarray]:
    """640x360 'camera': an empty scene, then the person walks in towards the camera."""
    from skimage import data

    scene = cv2.resize(np.ascontiguousarray(data.rocket()[:, :, ::-1]), (640, 360))
    scene = cv2.GaussianBlur(scene, (0, 0), 3)
    head = portrait[0:300, 90:360]
    frames = []
    n = int(seconds * fps)
    for i in range(n):
        img = scene.copy()
        t = i / n
        if 0.25 <= t < 0.9:  # the first quarter is an empty street: no faces, nothing kept
            u = (t - 0.25) / 0.65
            scale = 0.45 + 0.45 * u  # walking towards the camera
            hh, ww = int(head.shape[0] * scale), int(head.shape[1] * scale)
            small = cv2.resize(head, (ww, hh), interpolation=cv2.INTER_AREA)
            x = int(40 + u * (640 - ww - 80))
            y = max(0, 360 - hh - 10)
            img[y : y + hh, x : x + ww] = small
        frames.append(img)
    return frames


def builtin_material(workdir: Path) -> DemoMaterial:
    portrait = _astronaut()
    ref = workdir / "custody_CR-2026-0412.jpg"
    cv2.imwrite(str(ref), _custody_photo(portrait))
    nfa = workdir / "custody_CR-2025-1187.jpg"
    cv2.imwrite(str(nfa), cv2.flip(portrait, 1))
    feed = workdir / "camera_high_street.mp4"
    _write_video(feed, _street_feed(portrait))
    return DemoMaterial(
        references={"DEMO-0001": [ref]},
        ineligible={"DEMO-0002": nfa},
        cameras=[("high-street", str(feed))],
        expected_alerts={"DEMO-0001"},
        people=1,
        description="built-in: a generated street camera (6 s, 640x360) in which one enrolled "
        "person walks towards the camera; scikit-image's sample portrait is the only face",
    )


def _frame_at(video: Path, seconds: float) -> np.ndarray:
    with av.open(str(video)) as c:
        last = None
        for frame in c.decode(video=0):
            last = frame
            if frame.time is not None and frame.time >= seconds:
                break
        assert last is not None
        return np.ascontiguousarray(last.to_ndarray(format="bgr24"))


def shared_material(data_dir: Path, workdir: Path, decoys: int = 50) -> DemoMaterial:
    """Talking-head clips: everyone but the last person enrolled from a late frame of their own
    clip; each clip is a camera; LFW identities pad the watchlist as people not present."""
    clips = sorted((data_dir / "video").glob("WDA_*.mp4")) + sorted(
        (data_dir / "video").glob("RD_*.mp4")
    )
    if not clips:
        raise FileNotFoundError(f"{data_dir}/video: no WDA_*.mp4 or RD_*.mp4 clips found")
    mat = DemoMaterial(
        description=f"{len(clips)} talking-head clips from {data_dir}/video, "
        f"one camera each; the last person is not on the watchlist",
        people=len(clips),
    )
    for i, clip in enumerate(clips):
        ident = clip.stem.removesuffix("_000")
        mat.cameras.append((ident.lower(), str(clip)))
        if i == len(clips) - 1:
            continue  # not enrolled: must raise no alert
        ref = workdir / f"{ident}.jpg"
        cv2.imwrite(str(ref), _frame_at(clip, 7.5))
        mat.references[ident] = [ref]
        mat.expected_alerts.add(ident)
    lfw = data_dir / "lfw" / "images"
    if lfw.is_dir():
        for d in sorted(p for p in lfw.iterdir() if p.is_dir())[:decoys]:
            mat.decoys[d.name] = sorted(d.iterdir())[:1]
    mat.ineligible["NFA-EXAMPLE"] = mat.references[next(iter(mat.references))][0]
    return mat
