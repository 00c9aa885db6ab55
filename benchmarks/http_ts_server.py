"""Live MPEG-TS cameras over plain HTTP on loopback, for benchmarks/cameras.py --source http.

    python benchmarks/http_ts_server.py CLIP.ts [CLIP.ts ...]

Serves each clip at http://127.0.0.1:PORT/<file name>, looped without end, at real-time pace:
bytes leave at the clip's average bit rate (its size over its duration), as an IP camera's
HTTP stream does, so a client that falls behind is not fed faster to catch up. Prints the port
on the first line of stdout once listening. A process of its own, so that the benchmark's CPU
figures are the cameras', not the server's (its CPU is shown apart).
"""

from __future__ import annotations

import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av

CHUNK = 188 * 64  # whole transport-stream packets


def _duration_s(path: Path) -> float:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        if stream.frames and stream.average_rate:
            return float(stream.frames / stream.average_rate)
        return sum(1 for _ in c.demux(stream)) / float(stream.average_rate or 25)


def serve(paths: list[Path]) -> None:
    clips = {p.name: (p.read_bytes(), p.stat().st_size / _duration_s(p)) for p in paths}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            clip = clips.get(self.path.lstrip("/"))
            if clip is None:
                self.send_error(404)
                return
            data, rate = clip
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.end_headers()
            start, sent = time.monotonic(), 0
            try:
                while True:
                    pos = sent % len(data)
                    self.wfile.write(data[pos : pos + CHUNK])
                    sent += min(CHUNK, len(data) - pos)
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        time.sleep(ahead)
            except OSError:
                pass  # the camera's reader went away

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve([Path(a) for a in sys.argv[1:]])
