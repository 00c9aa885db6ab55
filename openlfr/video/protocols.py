"""What the runner and the camera loop need of a frame source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from openlfr.vision.types import Frame


@runtime_checkable
class DecodedFrame(Protocol):
    """A picture as decoded, converted to a `Frame` only when it is to be analysed."""

    @property
    def camera_id(self) -> str: ...

    @property
    def index(self) -> int: ...

    @property
    def timestamp(self) -> float: ...

    def to_frame(self) -> Frame: ...


@runtime_checkable
class FrameSource(Protocol):
    """A camera or a file: yields frames until it ends (file) or is closed (live).

    `live` sources are paced by the world: when analysis falls behind, the runner drops frames.
    A non-live source (a file) is read as fast as the consumer takes frames unless `paced`.

    `fps` is the source's own frame rate (None until a live source has connected and said);
    `health` is "connecting", "connected", "reconnecting" or "ended"; `error` says why it
    ended early (None when it ran to its end or is still running); `reconnects` counts
    reconnections that succeeded (always 0 for a file); `down_s` the seconds a live source has
    been down (from a failure to the next picture; always 0.0 for a file).
    """

    @property
    def camera_id(self) -> str: ...

    @property
    def live(self) -> bool: ...

    @property
    def paced(self) -> bool: ...

    @property
    def fps(self) -> float | None: ...

    @property
    def health(self) -> str: ...

    @property
    def error(self) -> str | None: ...

    @property
    def reconnects(self) -> int: ...

    @property
    def down_s(self) -> float: ...

    def frames(self) -> Iterator[Frame]: ...

    def skip_nonref(self, on: bool) -> None:
        """While `on`, the decoder may skip non-reference frames (the runner is behind)."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class DecodingSource(FrameSource, Protocol):
    """A source that can also yield pictures before their conversion to BGR (`decoded()`),
    so that the runner converts only the frames that pass its rate gate and its queue."""

    def decoded(self) -> Iterator[DecodedFrame | Frame]:
        """Pictures to convert, or frames already converted (a wrapper of a plain source)."""
        ...
