"""A real RTSP server on loopback (GStreamer's gst-rtsp-server) serving the shared clips as
endless H.264 live streams, with faults that a test can switch on while it runs.

Run by Debian's /usr/bin/python3 (python3-gi, python3-gst-1.0 and gir1.2-gst-rtsp-server-1.0
belong to that interpreter, not to the project's venv), as a subprocess of the tests:

    /usr/bin/python3 rtsp_server.py --port 8554 --cache DIR [--auth user:password] CLIP...

Each CLIP (a video file) is served at rtsp://127.0.0.1:PORT/<file stem>. A clip is decoded and
encoded to H.264 once (cached in DIR, so a restarted server starts at once) and then looped with
steady timestamps at the clip's own rate, as a camera would send it. When listening, the server
prints "READY <port>" on stdout. Commands on stdin, one per line, each answered "OK <command>":

    stall SECONDS     stop sending video (connections stay open) for SECONDS
    corrupt N         overwrite random bytes inside the next N frames sent (start codes kept)
    quit              exit

Killing the process (SIGKILL) is the "server died" fault; the test then starts a new one.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import struct
import sys
import threading
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

# Faults shared by every stream of this server (set from the stdin thread).
_lock = threading.Lock()
_stall_until = 0.0
_corrupt_left = 0


def encode_clip(path: Path, cache: Path) -> tuple[list[bytes], int, int]:
    """The clip as H.264 access units (byte-stream, SPS/PPS before each IDR) and its rate."""
    key = hashlib.sha256(f"{path.resolve()}:{path.stat().st_mtime_ns}".encode()).hexdigest()[:16]
    cached = cache / f"{path.stem}-{key}.aus"
    if cached.is_file():
        return _read_aus(cached)
    pipeline = Gst.parse_launch(
        f'filesrc location="{path}" ! decodebin ! videoconvert ! video/x-raw,format=I420 ! '
        # ultrafast + zerolatency: encoding once must be quick on 2 shared cores; a key frame
        # each second, as many cameras send, and no B-frames (cameras rarely send them).
        "x264enc speed-preset=ultrafast tune=zerolatency key-int-max=25 bframes=0 ! "
        "h264parse config-interval=-1 ! "
        "video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false"
    )
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    aus: list[bytes] = []
    rate = (25, 1)
    while True:
        sample = sink.emit("try-pull-sample", 30 * Gst.SECOND)
        if sample is None:
            break
        structure = sample.get_caps().get_structure(0)
        ok, num, den = structure.get_fraction("framerate")
        if ok and num > 0:
            rate = (num, den)
        buf = sample.get_buffer()
        aus.append(buf.extract_dup(0, buf.get_size()))
    pipeline.set_state(Gst.State.NULL)
    if not aus:
        raise SystemExit(f"{path}: no frames could be encoded")
    tmp = cached.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(struct.pack("<III", rate[0], rate[1], len(aus)))
        for au in aus:
            out.write(struct.pack("<I", len(au)))
            out.write(au)
    os.replace(tmp, cached)  # atomic: a server killed mid-write leaves no half cache
    return aus, rate[0], rate[1]


def _read_aus(path: Path) -> tuple[list[bytes], int, int]:
    data = path.read_bytes()
    num, den, count = struct.unpack_from("<III", data, 0)
    offset = 12
    aus = []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", data, offset)
        offset += 4
        aus.append(data[offset : offset + size])
        offset += size
    return aus, num, den


def _corrupted(au: bytes, rng: random.Random) -> bytes:
    data = bytearray(au)
    # Keep the first 16 bytes (start code, NAL header, most slice headers) so the decoder sees
    # damaged pictures rather than no picture at all: the harder case to survive.
    for _ in range(max(1, len(data) // 50)):
        pos = rng.randrange(min(16, len(data) - 1), len(data))
        data[pos] = rng.randrange(256)
    return bytes(data)


class ClipFactory(GstRtspServer.RTSPMediaFactory):
    """One live stream per client, looping the clip's access units at its own frame rate."""

    def __init__(self, aus: list[bytes], num: int, den: int) -> None:
        super().__init__()
        self.aus = aus
        self.num = num
        self.den = den
        self.set_shared(False)
        self.set_launch(
            "( appsrc name=src is-live=true format=time do-timestamp=false "
            f'caps="video/x-h264,stream-format=byte-stream,alignment=au,framerate={num}/{den}" '
            "! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )
        self.connect("media-configure", self._configure)

    def _configure(self, _factory: object, media: GstRtspServer.RTSPMedia) -> None:
        appsrc = media.get_element().get_child_by_name("src")
        threading.Thread(target=self._feed, args=(appsrc,), daemon=True).start()

    def _feed(self, appsrc: Gst.Element) -> None:
        global _corrupt_left
        rng = random.Random()
        duration = Gst.SECOND * self.den // self.num
        start = time.monotonic()
        index = 0
        while True:
            due = start + index * self.den / self.num
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            with _lock:
                stalled = time.monotonic() < _stall_until
                corrupt = _corrupt_left > 0 and not stalled
                if corrupt:
                    _corrupt_left -= 1
            if stalled:
                index += 1  # the clock goes on while nothing is sent, as on a real camera
                continue
            au = self.aus[index % len(self.aus)]
            if corrupt and index % len(self.aus) != 0:
                au = _corrupted(au, rng)
            buf = Gst.Buffer.new_wrapped(au)
            buf.pts = buf.dts = index * duration
            buf.duration = duration
            if appsrc.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                return  # the client went away and its media was torn down
            index += 1


def _commands(loop: GLib.MainLoop) -> None:
    global _stall_until, _corrupt_left
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        with _lock:
            if words[0] == "stall":
                _stall_until = time.monotonic() + float(words[1])
            elif words[0] == "corrupt":
                _corrupt_left = int(words[1])
            elif words[0] == "quit":
                loop.quit()
        print(f"OK {' '.join(words)}", flush=True)
    loop.quit()  # stdin closed: the test that started us has gone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--auth", help="user:password required of every client (Basic)")
    parser.add_argument("clips", nargs="+", type=Path)
    args = parser.parse_args()
    Gst.init(None)
    args.cache.mkdir(parents=True, exist_ok=True)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    auth = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "camera")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
    for clip in args.clips:
        factory = ClipFactory(*encode_clip(clip, args.cache))
        if auth is not None:
            factory.add_role_from_structure(
                Gst.Structure.new_from_string(
                    "camera, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )
            )
        mounts.add_factory(f"/{clip.stem}", factory)
    if server.attach(None) == 0:
        raise SystemExit(f"cannot listen on 127.0.0.1:{args.port}")
    loop = GLib.MainLoop()
    threading.Thread(target=_commands, args=(loop,), daemon=True).start()
    print(f"READY {server.get_bound_port()}", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
