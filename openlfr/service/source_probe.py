"""Whether a camera's source can deliver pictures, checked before anyone relies on it (R5).

A deployment authorised on a source that cannot be opened ends at once with nothing seen, and
nobody is told why. So each source is classified exactly as the runner will open it
(``video.sources.open_source``) and then checked as far as is cheap and safe:

- a video file must exist and decode one frame (at drafting already);
- a device (``/dev/videoN``, ``device:N``) must exist; it is not opened, because opening a
  camera another deployment is using would take it away from that deployment;
- a stream URL (rtsp://, http://, ...) is only checked for its form at drafting (the camera may
  not be installed yet), and is opened, with a short time-out, when ``open_urls`` is set: at
  authorisation and on the authorising officer's page, where "cannot be opened" must be known.

Credentials in a URL never reach a verdict (``redact``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from openlfr.config import VideoSettings
from openlfr.errors import SourceError
from openlfr.video._decode import OPEN_ERRORS, describe, open_input, redact
from openlfr.video.sources import DeviceSource, FileSource, StreamSource, open_source

__all__ = ["URL_OPEN_TIMEOUT_S", "SourceVerdict", "probe_source"]

#: How long an authorisation waits for a stream to answer and send a first picture. Long
#: enough for an RTSP camera across a mobile link; short enough that an officer waiting on a
#: page with several cameras is not left for minutes.
URL_OPEN_TIMEOUT_S = 5.0

_KINDS = (
    "a source is a video file that exists, a stream URL (rtsp://, rtsps://, http://, https://) "
    "or a camera device (/dev/videoN or device:N)"
)


@dataclass(frozen=True)
class SourceVerdict:
    camera: str
    source: str  # as written, less any credentials
    ok: bool
    detail: str  # what was checked and what was found, fit to show an officer


def probe_source(
    camera: str, source: str, *, open_urls: bool, timeout_s: float = URL_OPEN_TIMEOUT_S
) -> SourceVerdict:
    """The verdict on ``camera``'s ``source``; never raises for a bad source."""
    spec = source.strip()
    shown = redact(spec)
    if not spec:
        return SourceVerdict(camera, shown, False, f"no source is given: {_KINDS}")
    try:
        # realtime=False: a file is opened and decoded, never paced, for a probe.
        opened = open_source(spec, camera, VideoSettings(realtime=False))
    except SourceError as exc:
        # The list of kinds helps only when the text was not meant as a file at all.
        hint = "" if Path(spec).exists() else f": {_KINDS}"
        return SourceVerdict(camera, shown, False, f"{redact(str(exc))}{hint}")
    if isinstance(opened, FileSource):
        return _probe_file(camera, shown, opened)
    # A device or stream source connects lazily, on iteration: nothing is open to close here.
    if isinstance(opened, DeviceSource):
        device = Path(opened.target)
        if not device.exists():
            return SourceVerdict(camera, shown, False, f"camera device {device} does not exist")
        return SourceVerdict(
            camera, shown, True, f"camera device {device} exists (not opened: it may be in use)"
        )
    assert isinstance(opened, StreamSource)
    problem = _url_problem(spec)
    if problem:
        return SourceVerdict(camera, shown, False, f"{shown}: {problem}")
    if not open_urls:
        return SourceVerdict(
            camera, shown, True, "stream URL well formed; it is opened at authorisation"
        )
    return _probe_stream(camera, spec, shown, timeout_s)


def _probe_file(camera: str, shown: str, source: FileSource) -> SourceVerdict:
    try:
        frames = source.frames()
        first = next(frames, None)
        # A generator: closing it now runs its ``finally``, which closes the container.
        frames.close()
    except SourceError as exc:
        return SourceVerdict(camera, shown, False, str(exc))
    finally:
        source.close()
    if first is None:
        why = source.error or "it holds no picture"
        return SourceVerdict(camera, shown, False, f"{shown}: no frame could be decoded ({why})")
    height, width = first.image.shape[:2]
    return SourceVerdict(camera, shown, True, f"video file; first frame decoded ({width}x{height})")


def _url_problem(url: str) -> str | None:
    if any(ch.isspace() for ch in url):
        return "a URL cannot contain spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in range
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if not parts.hostname:
        return "the URL names no host"
    return None


def _probe_stream(camera: str, url: str, shown: str, timeout_s: float) -> SourceVerdict:
    options = {"rtsp_transport": "tcp"} if url.lower().startswith(("rtsp://", "rtsps://")) else {}
    try:
        container, stream = open_input(url, options=options, timeout=(timeout_s, timeout_s))
    except OPEN_ERRORS as exc:
        return SourceVerdict(
            camera, shown, False, f"{shown}: cannot be opened within {timeout_s:g} s: "
            f"{redact(describe(exc))}"
        )  # fmt: skip
    try:
        frame = next(iter(container.decode(stream)), None)
    except OPEN_ERRORS as exc:
        return SourceVerdict(
            camera, shown, False, f"{shown}: opened but no picture: {redact(describe(exc))}"
        )
    finally:
        container.close()
    if frame is None:
        return SourceVerdict(camera, shown, False, f"{shown}: opened but sent no picture")
    return SourceVerdict(
        camera, shown, True, f"stream opened; first frame decoded ({frame.width}x{frame.height})"
    )
