"""Multipart uploads are held in memory, never spooled to disk, and bounded before any is read.

Starlette's multipart parser writes each file part to a ``SpooledTemporaryFile`` that rolls
over to a real file in ``$TMPDIR`` past 1 MiB: an uploaded custody photo (a face) would sit on
disk in the clear, and a server killed mid-request leaves the disk blocks behind. Raising the
parser's spool size above the largest body any route accepts keeps every part in memory, which
is safe only because ``UploadLimit`` refuses, from the headers alone, any multipart body that
does not state its length or states one over that route's limit, and counts what arrives.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.formparsers import MultiPartParser

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIB = 2**20
#: One image (20 MiB) with its text fields and framing: any multipart route but enrolment.
DEFAULT_MULTIPART_BYTES = 21 * MIB


def keep_parts_in_memory(largest_body: int) -> None:
    """No file part of a body up to ``largest_body`` bytes ever rolls over to disk."""
    # A class attribute, read by every parser Starlette (and FastAPI's File()) creates.
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, largest_body + 1)


class UploadLimit:
    """Pure ASGI middleware: a multipart body must state its length (411) and stay within its
    route's limit (413), checked before a byte of it is read; a body longer than it said is cut
    off. ``limits`` maps a path to its own limit and what that limit is made of (said in the
    refusal); other multipart paths get ``default``."""

    def __init__(self, app: ASGIApp, *, limits: dict[str, tuple[int, str]], default: int) -> None:
        self.app, self.limits, self.default = app, limits, default
        keep_parts_in_memory(max([default, *(n for n, _ in limits.values())]))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_multipart(scope):
            await self.app(scope, receive, send)
            return
        limit, made_of = self.limits.get(scope.get("path", ""), (self.default, "one image"))
        length = _header(scope, b"content-length")
        if not length.isdigit():
            await _refuse(send, 411, "an upload must state its length (Content-Length)")
            return
        if int(length) > limit:
            await _refuse(
                send, 413, f"upload of {int(length) / MIB:.0f} MiB is over the {limit // MIB} "
                f"MiB limit ({made_of}): nothing was enrolled or kept",
            )  # fmt: skip
            return
        stated, seen = int(length), 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > stated:  # uvicorn frames by Content-Length; this never trusts it alone
                    return {"type": "http.disconnect"}  # the parse stops: nothing is kept
            return message

        await self.app(scope, counted, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1").strip()
    return ""


def _is_multipart(scope: Scope) -> bool:
    return _header(scope, b"content-type").lower().startswith("multipart/")


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"connection", b"close")]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})
