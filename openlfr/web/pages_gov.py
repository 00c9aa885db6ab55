"""Pages for supervisors (draft, watchlists, exceptional reasons), authorising officers
(authorise), auditors (audit log, records) and admins (users). Forms post here with the
session's CSRF token; refusals are shown with each rule."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from openlfr.api import governance
from openlfr.api.accounts import (
    Principal,
    create_account,
    list_accounts,
    reset_password,
    set_disabled,
)
from openlfr.api.app import _violations
from openlfr.api.deps import require, state_of
from openlfr.api.routes_admin import DraftIn, deployment_rows, draft_from
from openlfr.api.routes_admin import audit as audit_rows
from openlfr.errors import RuleViolation
from openlfr.service.deployments import authorise_deployment, create_deployment
from openlfr.service.records import deployment_record
from openlfr.service.watchlists import compile_watchlist, watchlist_summary
from openlfr.store import models as m
from openlfr.store.models_accounts import Role
from openlfr.web.pages import page

router = APIRouter(include_in_schema=False)
READERS = require(Role.OPERATOR, Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
SUPERVISOR = require(Role.SUPERVISOR)
AUTHORISER = require(Role.AUTHORISING_OFFICER)
RUNNERS = require(Role.OPERATOR, Role.SUPERVISOR)
ADMIN = require(Role.ADMIN)


def _see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def _watchlists(request: Request) -> list[dict[str, Any]]:
    svc = state_of(request)
    with svc.store.session() as s:
        ids = list(s.scalars(select(m.Watchlist.id).order_by(m.Watchlist.id.desc()).limit(50)))
    return [asdict(watchlist_summary(svc.base, i)) for i in ids]


@router.get("/deployments", response_class=HTMLResponse)
def deployments(request: Request, who: Principal = Depends(READERS)) -> HTMLResponse:
    wls = _watchlists(request) if who.role is Role.SUPERVISOR else []
    return page(
        request, "deployments.html", who, deployments=deployment_rows(request), watchlists=wls
    )


@router.post("/deployments")
def draft(
    request: Request,
    name: str = Form(...), purpose: str = Form(...), location: str = Form(...),
    location_reason: str = Form(...), watchlist_id: int = Form(...), cameras: str = Form(...),
    hours: float = Form(8.0), threshold: str = Form(""), equality_note: str = Form(""),
    who: Principal = Depends(SUPERVISOR),
) -> Response:  # fmt: skip
    body = DraftIn(
        name=name, purpose=purpose, location=location, location_reason=location_reason,
        watchlist_id=watchlist_id, cameras=[c for c in cameras.splitlines() if c.strip()],
        hours=hours, threshold=float(threshold) if threshold.strip() else None,
        equality_note=equality_note,
    )  # fmt: skip
    dep_id = create_deployment(state_of(request).context(who.username), draft_from(body))
    return _see_other(f"/deployments/{dep_id}")


def _detail(request: Request, who: Principal, dep_id: int, **extra: Any) -> HTMLResponse:
    svc = state_of(request)
    with svc.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {dep_id} does not exist")
        cams = list(s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep_id)))
    assert svc.runs is not None
    return page(
        request, "deployment.html", who, dep=dep, cameras=cams,
        watchlist=watchlist_summary(svc.base, dep.watchlist_id),
        record=deployment_record(svc.base, dep_id) if who.role is not Role.OPERATOR else None,
        running_here=dep_id in svc.runs.running(), run_error=svc.runs.errors.get(dep_id), **extra,
    )  # fmt: skip


@router.get("/deployments/{dep_id}", response_class=HTMLResponse)
def deployment(dep_id: int, request: Request, who: Principal = Depends(READERS)) -> HTMLResponse:
    return _detail(request, who, dep_id)


@router.post("/deployments/{dep_id}/authorise", response_model=None)
def authorise(dep_id: int, request: Request, who: Principal = Depends(AUTHORISER)) -> Response:
    try:
        if not who.rank:
            raise RuleViolation("R5", "this account records no rank")
        ctx = state_of(request).context(who.username)
        authorise_deployment(
            ctx,
            dep_id,
            officer=who.display_name,
            rank=who.rank,
            reasons="authorised on the web page",
        )
    except RuleViolation as exc:  # shown on the page itself, one line per rule
        return _detail(request, who, dep_id, refusal=_violations(exc))
    return _see_other(f"/deployments/{dep_id}")


@router.post("/deployments/{dep_id}/{action}", response_model=None)
def start_stop(
    dep_id: int, action: str, request: Request, who: Principal = Depends(RUNNERS)
) -> Response:
    runs = state_of(request).runs
    assert runs is not None
    if action == "start":
        runs.start(dep_id, who.username)
    elif action == "stop":
        runs.request_stop(dep_id, who.username)
    else:
        raise ValueError("action must be start or stop")
    return _see_other("/operator" if who.role is Role.OPERATOR else f"/deployments/{dep_id}")


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists(request: Request, who: Principal = Depends(SUPERVISOR)) -> HTMLResponse:
    subjects = governance.subjects_with_decisions(state_of(request).context(who.username))
    return page(request, "watchlists.html", who, subjects=subjects, watchlists=_watchlists(request))


@router.post("/watchlists")
async def compose(request: Request, who: Principal = Depends(SUPERVISOR)) -> Response:
    form = await request.form()
    refs = [str(v) for v in form.getlist("subject")]
    name = str(form.get("name") or "").strip()
    if not name or not refs:
        raise ValueError("a watchlist needs a name and at least one subject")
    ctx = state_of(request).context(who.username)
    compile_watchlist(ctx, name, refs)
    return _see_other("/watchlists")


@router.get("/exceptional", response_class=HTMLResponse)
def exceptional(request: Request, who: Principal = Depends(SUPERVISOR)) -> HTMLResponse:
    rows = governance.list_requests(state_of(request).context(who.username))
    return page(request, "exceptional.html", who, requests=rows)


@router.post("/exceptional")
async def request_exception(
    request: Request,
    subject_reference: str = Form(...), category: str = Form(...), source_ref: str = Form(...),
    lawful_basis: str = Form(...), case_outcome: str = Form(...), reason: str = Form(...),
    captured_on: str = Form(""), age_at_capture: str = Form(""), image: UploadFile = File(...),
    who: Principal = Depends(SUPERVISOR),
) -> Response:  # fmt: skip
    data = await image.read(20 * 1024 * 1024)
    fields = dict(subject_reference=subject_reference, category=category, source_ref=source_ref,
                  lawful_basis=lawful_basis, case_outcome=case_outcome, reason=reason,
                  captured_on=captured_on, age_at_capture=age_at_capture)  # fmt: skip
    governance.request_exception(state_of(request).context(who.username), fields, data)
    return _see_other("/exceptional")


@router.post("/exceptional/{request_id}/{verdict}")
def decide(
    request_id: int, verdict: str, request: Request, note: str = Form(""),
    who: Principal = Depends(SUPERVISOR),
) -> Response:  # fmt: skip
    approve = verdict == "approve"
    ctx = state_of(request).context(who.username, models=approve)
    governance.decide_request(ctx, request_id, approve=approve, note=note)
    return _see_other("/exceptional")


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request, days: int = 7, who: Principal = Depends(require(Role.AUDITOR))
) -> HTMLResponse:
    end = datetime.now(UTC) + timedelta(seconds=1)
    rows = audit_rows(request, end - timedelta(days=max(1, min(days, 3650))), end, who)
    return page(request, "audit.html", who, rows=list(reversed(rows)), days=days)


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, who: Principal = Depends(require(Role.ADMIN))) -> HTMLResponse:
    return page(
        request,
        "users.html",
        who,
        accounts=list_accounts(state_of(request).store),
        roles=list(Role),
    )


@router.post("/admin/users")
def add_user(
    request: Request, username: str = Form(...), password: str = Form(...), role: str = Form(...),
    display_name: str = Form(""), rank: str = Form(""), who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    create_account(
        state_of(request).store, username=username, password=password, role=role,
        display_name=display_name, rank=rank or None, created_by=who.username,
    )  # fmt: skip
    return _see_other("/admin/users")


@router.post("/admin/users/{username}/password")
def user_password(
    username: str, request: Request, password: str = Form(..., max_length=1024),
    reason: str = Form(..., max_length=2000), who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    store = state_of(request).store
    reset_password(store, username, password, actor=who.username, reason=reason)
    return _see_other("/admin/users")


@router.post("/admin/users/{username}/{action}")
def user_state(
    username: str, action: str, request: Request, reason: str = Form(..., max_length=2000),
    who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    if action not in ("disable", "enable"):
        raise ValueError("action must be disable or enable")
    store = state_of(request).store
    set_disabled(store, username, disabled=action == "disable", actor=who.username, reason=reason)
    return _see_other("/admin/users")
