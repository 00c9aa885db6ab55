"""Form helpers shared by the pages: a refusal turned into messages beside each field, and the
deployment form read into a draft without losing what was typed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from openlfr.domain import FieldViolation, bounds
from openlfr.errors import RuleViolation
from openlfr.service.context import utcnow
from openlfr.service.deployments import AuthorisationRefused, DeploymentDraft

#: A refusal's field (DeploymentDraft's names) -> the input that shows it on the draft form.
DRAFT_INPUTS = {"end": "hours", "window": "hours", "camera": "cameras"}
DRAFT_FIELDS = (
    "name",
    "watchlist_id",
    "purpose",
    "location",
    "location_reason",
    "cameras",
    "start",
    "hours",
    "threshold",
    "equality_note",
)


@dataclass
class FormErrors:
    """Messages by input name, and those that belong to no one input (shown at the top)."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[dict[str, str]] = field(default_factory=list)

    def add(self, name: str | None, message: str, rule: str | None = None) -> None:
        if name:
            self.fields.setdefault(name, []).append(f"{rule}: {message}" if rule else message)
        else:
            self.general.append({"rule": rule or "", "message": message})

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def absorb(self, exc: RuleViolation, known: tuple[str, ...], aliases: dict[str, str]) -> None:
        """Each violation of ``exc`` beside its field when the form has one, else at the top."""
        for v in exc.violations if isinstance(exc, AuthorisationRefused) else [exc]:
            name = aliases.get(v.field, v.field) if isinstance(v, FieldViolation) else None
            self.add(name if name in known else None, str(v), v.rule)


def draft_values(form: dict[str, str]) -> dict[str, str]:
    return {k: str(form.get(k, "")) for k in DRAFT_FIELDS}


def parse_draft(values: dict[str, str], errors: FormErrors) -> DeploymentDraft | None:
    """The draft the form describes, or None with each unreadable input named in ``errors``
    (a threshold of "abc" is an error beside the threshold, not a bare 400)."""
    threshold: float | None = None
    raw = values.get("threshold", "").strip()
    if raw:
        try:
            threshold = float(raw)
        except ValueError:
            errors.add("threshold", f"{raw!r} is not a number: write e.g. 0.62, or leave blank")
    hours = 8.0
    try:
        hours = float(values.get("hours", "").strip() or "8")
        if not bounds.MIN_WINDOW_HOURS <= hours <= bounds.MAX_WINDOW_HOURS:  # NaN too
            raise ValueError
    except ValueError:
        errors.add("hours", f"the number of hours must be between 1/60 and "
                   f"{bounds.MAX_WINDOW_HOURS}")  # fmt: skip
    start = utcnow()
    if values.get("start", "").strip():
        try:
            start = datetime.fromisoformat(values["start"].strip())
            start = bounds.check_moment(start)  # a year 9999 start cannot overflow the end
        except (ValueError, RuleViolation):
            errors.add("start", "write the start as YYYY-MM-DDTHH:MM (UTC), or leave blank: now")
    watchlist_id = 0
    try:
        watchlist_id = bounds.check_row_id(int(values.get("watchlist_id", "")))
    except (ValueError, RuleViolation):
        errors.add("watchlist_id", "choose a watchlist")
    cameras = []
    for i, line in enumerate(c for c in values.get("cameras", "").splitlines() if c.strip()):
        name, sep, source = line.strip().partition("=")
        cameras.append((name.strip(), source.strip()) if sep else (f"camera{i + 1}", line.strip()))
    if not cameras:
        errors.add("cameras", "give at least one camera: NAME=SOURCE, one per line")
    # Blank purpose, location and reason are left to the service, which reports them all at
    # once with their rule; only the name, which no rule covers, is checked here.
    if not values.get("name", "").strip():
        errors.add("name", "give the operation a name")
    if errors:
        return None
    return DeploymentDraft(
        values["name"].strip(),
        values["purpose"],
        values["location"],
        values["location_reason"],
        start,
        start + timedelta(hours=hours),
        watchlist_id,
        cameras,
        threshold,
        values.get("equality_note", ""),
    )


def values_of(dep: Any, cameras: list[Any]) -> dict[str, str]:
    """A stored deployment as the draft form's values (for the edit form)."""
    hours = (dep.end_at - dep.start_at).total_seconds() / 3600
    return {
        "name": dep.name,
        "watchlist_id": str(dep.watchlist_id),
        "purpose": dep.purpose,
        "location": dep.location,
        "location_reason": dep.location_reason,
        "cameras": "\n".join(f"{c.name}={c.source}" for c in cameras),
        "start": dep.start_at.strftime("%Y-%m-%dT%H:%M"),
        "hours": f"{hours:g}",
        "threshold": f"{dep.threshold:g}",
        "equality_note": dep.equality_note or "",
    }
