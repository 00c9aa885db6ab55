"""Equality evidence per deployment (issue 13; R15): the latest measured per-group error rates
at the deployment's own threshold, with the date of that measurement.

`openlfr eval identify --group-by COL --record` keeps its per-group rates over a threshold grid
under <data_dir>/equality; this reads the newest file for the model in use and picks the grid
point at the threshold. No file, or one older than ``accountability.equality_max_age_days``, is a
warning the authorising officer sees: deciding without current evidence is a choice they make
knowingly, not by default.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openlfr.config import Settings

__all__ = ["EqualityEvidence", "GroupRates", "equality_evidence", "record_equality"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupRates:
    group: str
    fpir: float | None
    fnir: float | None
    mated: int
    nonmated: int


@dataclass(frozen=True)
class EqualityEvidence:
    measured_at: str | None
    source: str | None
    group_by: str | None
    threshold: float
    grid_threshold: float | None
    groups: list[GroupRates] = field(default_factory=list)
    warning: str | None = None


def _folder(settings: Settings) -> Path:
    return settings.store.data_dir / "equality"


def record_equality(
    settings: Settings, result: dict[str, Any], group_by: str, now: datetime
) -> Path:
    """Keeps an `eval identify` result with per-group rates as the store's equality evidence."""
    if not result.get("by_group_at_thresholds"):
        raise ValueError("--record needs per-group rates: give --identities and --group-by")
    folder = _folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"identify-{now:%Y%m%dT%H%M%S}.json"
    body = {
        "measured_at": now.isoformat(),
        "model": settings.vision.embedder,
        "group_by": group_by,
        "grid": result["grid"],
        "by_group_at_thresholds": result["by_group_at_thresholds"],
    }
    path.write_text(json.dumps(body, indent=1) + "\n")
    return path


def _newest(settings: Settings) -> tuple[Path, dict[str, Any]] | None:
    folder, best = _folder(settings), None
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
            datetime.fromisoformat(str(data["measured_at"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("equality evidence %s unreadable: %s", path, exc)
            continue
        if str(data.get("model", "")).casefold() != settings.vision.embedder.casefold():
            continue
        if best is None or str(data["measured_at"]) > str(best[1]["measured_at"]):
            best = (path, data)
    return best


def equality_evidence(settings: Settings, threshold: float, now: datetime) -> EqualityEvidence:
    """The newest per-group rates at ``threshold`` (nearest grid point at or above it)."""
    max_age = settings.accountability.equality_max_age_days
    found = _newest(settings)
    if found is None:
        return EqualityEvidence(
            None, None, None, threshold, None,
            warning=f"No per-group error-rate measurement of {settings.vision.embedder} is "
            "recorded: run `openlfr eval identify --identities CSV --group-by COL --record` on "
            "the calibration set before deciding (R15).",
        )  # fmt: skip
    path, data = found
    grid = [float(t) for t in data["grid"]]
    at = min((i for i, t in enumerate(grid) if t >= threshold - 1e-9), default=len(grid) - 1)
    groups = [
        GroupRates(g, r["fpir"][at], r["fnir"][at], int(r["mated"][0]), int(r["nonmated"][0]))
        for g, r in sorted(data["by_group_at_thresholds"].items())
    ]
    measured = datetime.fromisoformat(str(data["measured_at"]))
    warning = None
    if now - measured > timedelta(days=max_age):
        warning = (
            f"The newest per-group measurement is from {measured:%Y-%m-%d}, older than "
            f"{max_age} days: measure again before relying on it (R15)."
        )
    return EqualityEvidence(
        measured.isoformat(), path.name, str(data.get("group_by")), threshold, grid[at],
        groups, warning,
    )  # fmt: skip
