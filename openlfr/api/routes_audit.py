"""The audit log for auditors: entries filtered by period, actor, action, event and object, as
JSON or CSV. Every reading is itself logged with the filters used (who looked at what)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from openlfr.api.accounts import Principal
from openlfr.api.deps import require, state_of
from openlfr.service.context import utcnow
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["audit"])
AUDITOR = require(Role.AUDITOR)
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


@dataclass(frozen=True)
class AuditFilter:
    """[start, end) and optional exact actor / action / event, object type and id."""

    start: datetime
    end: datetime
    actor: str = ""
    action: str = ""
    event: str = ""
    object_type: str = ""
    object_id: str = ""

    @classmethod
    def of(
        cls, start: datetime | date | None, end: datetime | date | None, **exact: str | None
    ) -> AuditFilter:
        """Dates as whole days (the end day included); no end: now; no start: 7 days before."""

        def moment(d: datetime | date, day_end: bool) -> datetime:
            if not isinstance(d, datetime):
                d = datetime.combine(d, time.min) + (timedelta(days=1) if day_end else timedelta())
            return d if d.tzinfo else d.replace(tzinfo=UTC)

        stop = moment(end, True) if end else utcnow() + timedelta(seconds=1)
        begin = moment(start, False) if start else stop - timedelta(days=7)
        if begin >= stop:
            raise ValueError("the start of the period must be before its end")
        clean = {k: (v or "").strip() for k, v in exact.items()}
        if clean.get("action") and clean["action"] not in {a.value for a in AuditAction}:
            known = ", ".join(a.value for a in AuditAction)
            raise ValueError(f"action must be one of {known}")
        return cls(begin, stop, **clean)


def read_audit(
    request: Request, who: Principal, f: AuditFilter, *, limit: int, purpose: str
) -> list[dict[str, Any]]:
    """Matching entries, oldest first (the newest ``limit``); the reading is logged."""
    e = m.AuditEntry
    q = select(e).where(e.at >= f.start, e.at < f.end)
    for column, value in (
        (e.actor, f.actor),
        (e.action, f.action),
        (e.event, f.event),
        (e.object_type, f.object_type),
        (e.object_id, f.object_id),
    ):
        if value:
            q = q.where(column == value)
    with state_of(request).store.session() as s:
        rows = list(s.scalars(q.order_by(e.id.desc()).limit(limit)))
        out = []
        for row in reversed(rows):
            item = row.as_dict()
            item["detail"] = json.loads(row.detail) if row.detail is not None else None
            out.append(item)
        filters = {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(f).items() if v
        }
        append_audit(
            s,
            actor=who.username,
            action=AuditAction.CONSULTATION,
            event="audit_read",
            object_type="audit_log",
            object_id=f"{f.start.isoformat()}..{f.end.isoformat()}",
            justification=purpose,
            detail={"rows": len(out), "filters": filters},
        )
    return out


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


def export_response(rows: list[dict[str, Any]], fmt: str, f: AuditFilter) -> Response:
    name = f"audit-{f.start:%Y%m%d}-{f.end:%Y%m%d}"
    if fmt == "csv":
        body, media = to_csv(rows), "text/csv; charset=utf-8"
    else:
        body, media = json.dumps(rows, default=str, indent=1), "application/json"
    disposition = f'attachment; filename="{name}.{fmt}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get("/api/audit", response_model=None)
def audit(
    request: Request,
    start: datetime | None = None,
    end: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    event: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    format: Literal["json", "csv"] = "json",
    who: Principal = Depends(AUDITOR),
) -> list[dict[str, Any]] | Response:
    """Audit entries in [start, end) (default: the last 7 days), optionally only those of one
    actor, action, event or object; ``format=csv`` for a spreadsheet. JSON answers hold the
    newest 1,000; CSV exports up to 200,000. The reading is itself logged."""
    f = AuditFilter.of(
        start,
        end,
        actor=actor,
        action=action,
        event=event,
        object_type=object_type,
        object_id=object_id,
    )
    if format == "csv":
        rows = read_audit(request, who, f, limit=EXPORT_ROWS, purpose="audit log exported (CSV)")
        return export_response(rows, "csv", f)
    return read_audit(request, who, f, limit=PAGE_ROWS, purpose="audit log reviewed by an auditor")
