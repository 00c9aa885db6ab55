"""The audit log for auditors: entries filtered by period, actor, action, event and object, as
JSON or CSV. Every reading is itself logged with the filters used (who looked at what)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from openlfr.api.deps import require, state_of
from openlfr.api.params import Moment
from openlfr.reports.audit_export import EXPORT_ROWS, PAGE_ROWS, audit_export
from openlfr.service import audit_log
from openlfr.service.audit_log import AuditFilter
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role

router = APIRouter(tags=["audit"])
AUDITOR = require(Role.AUDITOR)


def read_audit(
    request: Request, who: Principal, f: AuditFilter, *, limit: int, purpose: str
) -> list[dict[str, Any]]:
    """Matching entries, oldest first (the newest ``limit``); the reading is logged."""
    ctx = state_of(request).context(who.username)
    return audit_log.read_audit(ctx, f, limit=limit, purpose=purpose)


def export_response(rows: list[dict[str, Any]], fmt: str, f: AuditFilter) -> Response:
    out = audit_export(rows, fmt, f)
    return Response(out.body, media_type=out.media_type, headers=out.headers)


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
