"""The auditor's audit log page: filters (period, actor, action, event, object) as a GET form,
so a filtered view is a link; the same filters export CSV or JSON. Each reading is logged."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from openlfr.api.deps import require, state_of
from openlfr.reports.audit_export import EXPORT_ROWS, PAGE_ROWS, audit_export
from openlfr.service import audit_log
from openlfr.service.audit_log import AuditFilter
from openlfr.service.sessions import Principal
from openlfr.store import AuditAction
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
AUDITOR = require(Role.AUDITOR)
FIELDS = ("start", "end", "actor", "action", "event", "object_type", "object_id")


def _filter(request: Request) -> tuple[dict[str, str], AuditFilter]:
    values = {k: request.query_params.get(k, "").strip() for k in FIELDS}

    def day(text: str) -> date | None:
        try:
            return date.fromisoformat(text) if text else None
        except ValueError as exc:
            raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD") from exc

    f = AuditFilter.of(
        day(values["start"]),
        day(values["end"]),
        actor=values["actor"],
        action=values["action"],
        event=values["event"],
        object_type=values["object_type"],
        object_id=values["object_id"],
    )
    return values, f


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, who: Principal = Depends(AUDITOR)) -> HTMLResponse:
    error = ""
    try:
        values, f = _filter(request)
        rows = audit_log.read_audit(
            state_of(request).context(who.username),
            f,
            limit=PAGE_ROWS,
            purpose="audit log reviewed by an auditor",
        )
    except ValueError as exc:  # shown beside the filters, which keep what was typed
        values = {k: request.query_params.get(k, "") for k in FIELDS}
        rows, error, f = [], str(exc), None
    return page(
        request,
        "audit.html",
        who,
        422 if error else 200,
        rows=list(reversed(rows)),
        values=values,
        error=error,
        period=f,
        actions=[a.value for a in AuditAction],
        query=request.url.query,
        page_rows=PAGE_ROWS,
    )


@router.get("/audit/export.{fmt}", response_model=None)
def export(fmt: str, request: Request, who: Principal = Depends(AUDITOR)) -> Response:
    if fmt not in ("csv", "json"):
        raise ValueError("export as csv or json")
    _, f = _filter(request)
    ctx = state_of(request).context(who.username)
    rows = audit_log.read_audit(
        ctx, f, limit=EXPORT_ROWS, purpose=f"audit log exported ({fmt.upper()})"
    )
    out = audit_export(rows, fmt, f)
    return Response(out.body, media_type=out.media_type, headers=out.headers)
