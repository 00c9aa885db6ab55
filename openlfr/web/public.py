"""The public transparency pages (no log-in): per-deployment records and the aggregate report
for any period, as HTML with charts, JSON and CSV. Built from the reports package's
allow-listed public fields only, so no personal data can reach them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from openlfr import reports
from openlfr.api.deps import state_of
from openlfr.api.params import Day, RowId
from openlfr.service.notices import list_notices
from openlfr.service.views import has_published_record
from openlfr.web import TEMPLATES

router = APIRouter(tags=["public"])

# The standalone report pages carry their own <style> block and matplotlib's SVG: inline
# styles are allowed there, and nothing else (no script at all, no form, no framing).
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def _period(start: date | None, end: date | None) -> tuple[datetime, datetime]:
    """[start, end] as whole UTC days; by default the last 365 days up to today."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=365)
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


def _report(request: Request, start: date | None, end: date | None) -> reports.AggregateReport:
    lo, hi = _period(start, end)
    return reports.aggregate(state_of(request).base, lo, hi)


def _download(body: str, media: str, name: str) -> Response:
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/public", response_class=HTMLResponse)
def public_page(
    request: Request,
    start: Day | None = Query(None, alias="from"),
    end: Day | None = Query(None, alias="to"),
) -> HTMLResponse:
    """Every deployment record in the period and the totals, with links to the downloads."""
    report = _report(request, start, end)
    first, last = (
        report.start.date().isoformat(),
        (report.end - timedelta(days=1)).date().isoformat(),
    )
    return TEMPLATES.TemplateResponse(
        request,
        "public.html",
        {
            "report": report,
            "first": first,
            "last": last,
            "query": f"from={first}&to={last}",
            "definitions": report.definitions,
            "who": None,
            "notices": list_notices(state_of(request).base),  # R19: announced in advance
        },
    )


@router.get("/public/report.html", response_class=HTMLResponse)
def report_html(
    request: Request,
    start: Day | None = Query(None, alias="from"),
    end: Day | None = Query(None, alias="to"),
) -> HTMLResponse:
    """The aggregate report with charts (funnel, outcomes by category, false-alert rates)."""
    html = reports.to_html(_report(request, start, end))
    return HTMLResponse(html, headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/public/report.json")
def report_json(
    request: Request,
    start: Day | None = Query(None, alias="from"),
    end: Day | None = Query(None, alias="to"),
) -> Response:
    return _download(
        reports.to_json(_report(request, start, end)), "application/json", "openlfr-report.json"
    )


@router.get(
    "/public/report.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def report_csv(
    request: Request,
    start: Day | None = Query(None, alias="from"),
    end: Day | None = Query(None, alias="to"),
) -> Response:
    return _download(
        reports.to_csv(_report(request, start, end)),
        "text/csv; charset=utf-8",
        "openlfr-report.csv",
    )


@router.get("/public/deployments/{deployment_id}.html", response_class=HTMLResponse)
def record_page(deployment_id: RowId, request: Request) -> HTMLResponse:
    rec = _public(request, deployment_id)
    return HTMLResponse(reports.record_html(rec), headers={"Content-Security-Policy": REPORT_CSP})


@router.get("/public/deployments/{deployment_id}.json")
def record_json(deployment_id: RowId, request: Request) -> Response:
    return Response(
        reports.record_json(_public(request, deployment_id)), media_type="application/json"
    )


def _public(request: Request, deployment_id: int) -> reports.PublicRecord:
    svc = state_of(request)
    if not has_published_record(svc.store, deployment_id):  # a draft, a refusal: no record
        raise HTTPException(404, "no published record for that deployment")
    return reports.load_public_record(svc.base, deployment_id)
