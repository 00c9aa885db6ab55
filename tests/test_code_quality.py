"""The house style is enforced, not hoped for: ruff and mypy run as part of the suite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True)


def test_ruff_is_clean() -> None:
    r = _run("ruff", "check", "openlfr", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format_is_clean() -> None:
    r = _run("ruff", "format", "--check", "openlfr", "tests", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr  # `ruff format` fixes it


@pytest.mark.slow  # tens of seconds on a clean clone (no .mypy_cache yet)
def test_mypy_is_clean() -> None:
    r = _run("mypy", "openlfr", "benchmarks")
    assert r.returncode == 0, r.stdout + r.stderr


def test_modules_stay_small() -> None:
    big = {
        str(p.relative_to(REPO)): n
        for p in (REPO / "openlfr").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert not big, f"split these by responsibility: {big}"
