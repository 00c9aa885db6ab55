"""The audit log as a download (CSV or JSON), shared by the auditor's API and web page so both
give the same file for the same filters."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

PAGE_ROWS = 1000
EXPORT_ROWS = 200_000
CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "event",
    "object_type",
    "object_id",
    "recipient",
    "justification",
    "detail",
    "prev_hash",
    "row_hash",
)


class Period(Protocol):
    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


@dataclass(frozen=True)
class AuditExport:
    body: str
    media_type: str
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'attachment; filename="{self.filename}"'}


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        detail = r.get("detail")
        writer.writerow(
            [
                json.dumps(detail, sort_keys=True)
                if c == "detail" and detail is not None
                else _cell(r.get(c))
                for c in CSV_COLUMNS
            ]
        )
    return buf.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    # A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def audit_export(rows: list[dict[str, Any]], fmt: str, period: Period) -> AuditExport:
    name = f"audit-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"
    if fmt == "csv":
        return AuditExport(to_csv(rows), "text/csv; charset=utf-8", name)
    return AuditExport(json.dumps(rows, default=str, indent=1), "application/json", name)
