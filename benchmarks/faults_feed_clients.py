"""Alert-feed clients for the load figure (benchmarks/faults_load.py), run as processes of their
own so that neither the server nor the measuring loop shares a CPU-bound event loop with them.

    python benchmarks/faults_feed_clients.py WS_URL ORIGIN < cookies (one JSON list, one line)

Prints ``ready`` once every socket is open (or failed), runs until a line ``stop`` arrives on
stdin, then prints one JSON object: sockets connected, errors, close codes, and each alert's
receipt as [alert id, wall-clock time of receipt] per socket.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import websockets


async def _client(url: str, origin: str, cookie: str, out: dict[str, Any], k: int) -> None:
    got: list[tuple[int, float]] = []
    out["receipts"][k] = got
    try:
        async with websockets.connect(
            url,
            origin=origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"openlfr_session={cookie}"},
            open_timeout=60,
            max_queue=None,
        ) as ws:
            out["connected"] += 1
            try:
                async for raw in ws:
                    now = time.time()
                    msg = json.loads(raw)
                    if msg.get("type") == "alerts":
                        got.extend((a["id"], now) for a in msg["alerts"])
            except websockets.ConnectionClosed:
                pass
            code = ws.close_code
            if code not in (None, 1000, 1001):
                out["closes"][str(code)] = out["closes"].get(str(code), 0) + 1
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        out["errors"].append(type(exc).__name__)


async def main() -> None:
    url, origin = sys.argv[1], sys.argv[2]
    loop = asyncio.get_running_loop()
    cookies: list[str] = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    out: dict[str, Any] = {"connected": 0, "errors": [], "closes": {}, "receipts": {}}
    tasks = [asyncio.create_task(_client(url, origin, c, out, k)) for k, c in enumerate(cookies)]
    deadline = time.monotonic() + 90
    while out["connected"] + len(out["errors"]) < len(cookies) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    out["receipts"] = list(out["receipts"].values())
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
