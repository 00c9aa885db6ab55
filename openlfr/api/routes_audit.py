"""The audit log for auditors: entries filtered by period, actor, action, event and object, as
JSON or CSV. Every reading is itself logged with the filters used (who looked at what)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from openlfr.api.deps import require, state_of
from openlfr.api.params import Moment
from openlfr.service import audit_log
from openlfr.service.audit_log import AuditFilter
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

__all__ = ["AuditFilter", "export_response", "read_audit", "router", "to_csv"]

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


def read_audit(
    request: Request, who: Principal, f: AuditFilter, *, limit: int, purpose: str
) -> list[dict[str, Any]]:
    """Matching entries, oldest first (the newest ``limit``); the reading is logged."""
    ctx = state_of(request).context(who.username)
    return audit_log.read_audit(ctx, f, limit=limit, purpose=purpose)


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


@router.get(
    "/api/audit",
    response_model=None,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def audit(
    request: Request,
    start: Moment | None = None,
    end: Moment | None = None,
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
