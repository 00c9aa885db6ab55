"""What benchmarks/cameras.py measures with: the 720p test clips, the reference gallery, the
process's memory and per-thread CPU probes, and YuNet's batched-vs-single forward probe."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
VIDEO = REPO.parent / "shared" / "data" / "video"
CLIPS = (
    "WDA_KatieHill_000",
    "RD_Radio34_000",
    "WDA_AlexandriaOcasioCortez_000",
    "WDA_EdMarkey0_000",
    "RD_Radio2_000",
)
PLAY_S, REF_AT_S, W, H = 6.0, 7.5, 1280, 720


def build_clip(name: str, out: Path, seconds: float) -> Path:
    """The first PLAY_S of a clip, letterboxed to 1280x720, looped to `seconds`."""
    path = out / f"{name}_720p_{seconds:g}s.mp4"
    if path.is_file():
        return path
    frames: list[np.ndarray] = []
    with av.open(str(VIDEO / f"{name}.mp4")) as src:
        for f in src.decode(video=0):
            if f.time is not None and f.time >= PLAY_S:
                break
            img = f.to_ndarray(format="bgr24")
            side = H
            canvas = np.zeros((H, W, 3), np.uint8)
            x0 = (W - side) // 2
            canvas[:, x0 : x0 + side] = cv2.resize(
                img, (side, side), interpolation=cv2.INTER_LINEAR
            )
            frames.append(canvas)
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as dst:
        stream = dst.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "25"}
        stream.codec_context.time_base = Fraction(1, 25)
        for i in range(int(seconds * 25)):
            vf = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="bgr24")
            vf.pts = i
            for pkt in stream.encode(vf):
                dst.mux(pkt)
        for pkt in stream.encode():
            dst.mux(pkt)
    tmp.rename(path)
    return path


def reference_gallery(detector: Any, embedder: Any) -> Any:
    from openlfr.matching.gallery import NumpyGallery

    vectors, labels = [], []
    for label, name in enumerate(CLIPS):
        with av.open(str(VIDEO / f"{name}.mp4")) as src:
            img = next(
                f.to_ndarray(format="bgr24")
                for f in src.decode(video=0)
                if f.time is not None and f.time >= REF_AT_S
            )
        det = detector.detect(img)
        best = int(
            np.argmax((det.boxes[:, 2] - det.boxes[:, 0]) * (det.boxes[:, 3] - det.boxes[:, 1]))
        )
        vectors.append(embedder.embed(img, det.landmarks[best : best + 1]).vectors[0])
        labels.append(label)
    return NumpyGallery(np.stack(vectors).astype(np.float32), np.array(labels))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's threads, by role: the inference stage's workers,
    the cameras' readers (decoding), their loops (conversion, hand-off), and threads Python
    does not know (OpenCV's and FFmpeg's own pools). Per role, so that a loaded machine, which
    changes how much CPU the process gets, changes the figure per frame much less."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        name = names.get(int(task.name), "native pool")
        role = (
            "stage" if name.startswith("openlfr-inference")
            else "decode" if name.startswith("openlfr-camera")
            else "loop" if name.startswith("bench-loop")
            else "native pool" if name == "native pool"
            else "other"
        )  # fmt: skip
        out[role] = out.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def detect_batching(path: Path, sizes: list[int], reps: int) -> list[dict[str, float]]:
    """YuNet's forward on a batch of n frames vs n single frames (same OpenCV DNN net)."""
    from openlfr.config import Settings
    from openlfr.vision.model_files import model_path

    side = Settings().vision.detect_max_side
    frames = []
    with av.open(str(path)) as src:
        for f in src.decode(video=0):
            frames.append(f.to_ndarray(format="bgr24"))
            if len(frames) >= max(sizes):
                break
    scale = side / max(W, H)
    size = (round(W * scale) // 32 * 32, round(H * scale) // 32 * 32)
    net = cv2.dnn.readNet(str(model_path("yunet")))
    names = net.getUnconnectedOutLayersNames()
    rows = []
    for n in sizes:
        blob = cv2.dnn.blobFromImages([cv2.resize(f, size) for f in frames[:n]])
        single = [cv2.dnn.blobFromImage(cv2.resize(f, size)) for f in frames[:n]]
        net.setInput(blob)
        net.forward(names)  # warm
        t0 = time.perf_counter()
        for _ in range(reps):
            net.setInput(blob)
            net.forward(names)
        batched = (time.perf_counter() - t0) / reps / n
        t0 = time.perf_counter()
        for _ in range(reps):
            for b in single:
                net.setInput(b)
                net.forward(names)
        alone = (time.perf_counter() - t0) / reps / n
        rows.append(
            dict(n=n, single_ms=alone * 1000, batched_ms=batched * 1000, load=os.getloadavg()[0])
        )
    return rows


SourceMaker = Callable[[int, Path], Any]  # (camera index, clip) -> a FrameSource


def process_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) another process has used so far; 0 when it is gone."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def to_transport_stream(path: Path, out: Path) -> Path:
    """`path`'s H.264 remuxed (not re-encoded) into MPEG-TS, as an IP camera streams it."""
    ts = out / f"{path.stem}.ts"
    if ts.is_file():
        return ts
    out.mkdir(parents=True, exist_ok=True)
    tmp = ts.with_suffix(".part.ts")
    with av.open(str(path)) as src, av.open(str(tmp), "w", format="mpegts") as dst:
        inp = src.streams.video[0]
        stream = dst.add_stream_from_template(inp)
        for packet in src.demux(inp):
            if packet.dts is None:
                continue  # the demuxer's end-of-stream marker
            packet.stream = stream
            dst.mux(packet)
    tmp.rename(ts)
    return ts


class HttpTsServer:
    """benchmarks/http_ts_server.py as a subprocess: each clip an endless live HTTP stream."""

    def __init__(self, clips: list[Path]) -> None:
        script = Path(__file__).with_name("http_ts_server.py")
        self._proc = subprocess.Popen(
            [sys.executable, str(script), *map(str, clips)], stdout=subprocess.PIPE, text=True
        )
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline())

    @property
    def pid(self) -> int:
        return self._proc.pid

    def url(self, clip: Path) -> str:
        return f"http://127.0.0.1:{self.port}/{clip.stem}.ts"

    def kill(self) -> None:
        self._proc.kill()
        self._proc.wait(10)


@contextlib.contextmanager
def camera_sources(kind: str, paths: list[Path], out: Path) -> Iterator[tuple[SourceMaker, Any]]:
    """How each camera is read, and the server behind them (None for files).

    "file": the clip in real time (a paced FileSource). "rtsp": the clip served as an endless
    live H.264 stream by GStreamer's RTSP server (tests/live/rtsp_server.py, one process on
    loopback, no B-frames, a key frame a second) and read by the StreamSource a camera URL
    gets, so the RTSP/RTP depacketising, jitter and reconnection code are in the measurement.
    "http": the same H.264 remuxed to MPEG-TS and served looped at its bit rate over plain HTTP
    (benchmarks/http_ts_server.py, one process), read by the same StreamSource.
    """
    from openlfr.config import Settings
    from openlfr.video.file_source import FileSource
    from openlfr.video.live import StreamSource

    if kind == "file":
        yield (lambda i, path: FileSource(path, f"cam{i}", realtime=True)), None
        return
    server: Any
    if kind == "http":
        server = HttpTsServer([to_transport_stream(p, out / "http") for p in sorted(set(paths))])
    elif kind == "rtsp":
        sys.path.insert(0, str(REPO / "tests" / "live"))
        from rtsp_support import RtspServer, gstreamer_missing

        missing = gstreamer_missing()
        if missing:
            raise SystemExit(f"--source rtsp needs GStreamer's RTSP server: {missing}")
        server = RtspServer(sorted(set(paths)), out / "rtsp")
        server.start()
    else:
        raise SystemExit(f"unknown --source {kind!r} (file, rtsp or http)")
    video = Settings().video
    try:
        yield (lambda i, path: StreamSource(server.url(path), f"cam{i}", video)), server
    finally:
        server.kill()
