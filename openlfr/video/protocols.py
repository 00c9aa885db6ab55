"""What the runner needs of a frame source."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from openlfr.vision.types import Frame


@runtime_checkable
class FrameSource(Protocol):
    """A camera or a file: yields frames until it ends (file) or is closed (live).

    `live` sources are paced by the world: when analysis falls behind, the runner drops frames.
    A non-live source (a file) is read as fast as the consumer takes frames unless paced.
    """

    camera_id: str
    live: bool

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...
