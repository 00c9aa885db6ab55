"""What the whole suite shares: where ../shared/data is, and how a test says it needs something
the machine may lack (PostgreSQL, Chromium, Ray, GStreamer, the shared data).

A test that cannot run for want of such a thing skips with a reason made by `needs(...)`; the
root conftest turns that skip into a failure when CI=true, so CI cannot go green without it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

NEEDS_PREFIX = "needs: "
# Reasons written before the prefix existed (or in other helpers' folders) that still name a
# requirement CI must have: matched so that no such skip can pass CI unnoticed.
_REQUIREMENT = re.compile(
    r"postgres|OPENLFR_TEST_PG_URL|chromium|playwright|\bray\b|gstreamer|shared/data",
    re.IGNORECASE,
)

INSTALL = {
    "PostgreSQL": "apt-get install postgresql, start it, and export OPENLFR_TEST_PG_URL="
    "postgresql+psycopg://openlfr@127.0.0.1:54329/openlfr_test (.ci/run shows how)",
    "Chromium": "apt-get install chromium (Playwright drives /usr/bin/chromium)",
    "Ray": "pip install ray",
    "GStreamer": "apt-get install gstreamer1.0-tools gstreamer1.0-plugins-good",
    "shared data": f"put the test images and clips at {SHARED_DATA}",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def needs(what: str, detail: str = "") -> str:
    """The skip reason for a missing requirement: what is missing and how to install it."""
    hint = INSTALL.get(what, "")
    extra = f" ({detail})" if detail else ""
    return f"{NEEDS_PREFIX}{what}{extra}; to run it: {hint}" if hint else f"{NEEDS_PREFIX}{what}"


def is_requirement_skip(reason: str) -> bool:
    reason = reason.removeprefix("Skipped: ")
    return reason.startswith(NEEDS_PREFIX) or bool(_REQUIREMENT.search(reason))


def data_path(*parts: str) -> Path:
    """A path under ../shared/data, or a skip (a failure in CI) naming what is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(needs("shared data", f"{path} is missing"))
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """With CI=true, a skip for a missing requirement fails: CI must have everything.
    (Imported into the root conftest, which is what registers it.)"""
    report = yield
    if report.skipped and not hasattr(report, "wasxfail") and in_ci():
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        if is_requirement_skip(reason):
            report.outcome = "failed"
            report.longrepr = f"CI=true, so a missing requirement fails, not skips: {reason}"
    return report


def frame_at(video: Path, seconds: float, out: Path) -> Path:
    """Saves the first frame at or after `seconds` of `video` as a JPEG (PyAV): a reference
    image taken from footage a test's camera does not play."""
    import av

    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                frame.to_image().save(out, quality=95)
                return out
    raise AssertionError(f"{video} has no frame at {seconds} s")
