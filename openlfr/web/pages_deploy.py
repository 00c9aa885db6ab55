"""Deployment pages: the list and the draft form (supervisor), a deployment's page, editing a
draft until it is authorised, withdrawing it, starting and stopping a run. A refused form is
shown again with what was typed and each error beside its field."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openlfr.api.deps import require, state_of
from openlfr.api.params import RowId
from openlfr.errors import RuleViolation
from openlfr.service.deployments import amend_deployment, create_deployment, withdraw_deployment
from openlfr.service.records import deployment_record
from openlfr.service.sessions import Principal
from openlfr.service.views import (
    deployment_rows,
    deployment_with_cameras,
    recent_watchlist_ids,
)
from openlfr.service.watchlists import watchlist_summary
from openlfr.store import models as m
from openlfr.store.models_accounts import Role
from openlfr.web.forms import (
    DRAFT_FIELDS,
    DRAFT_INPUTS,
    FormErrors,
    draft_values,
    parse_draft,
    values_of,
)
from openlfr.web.pages import page
from openlfr.web.pages_notices import accountability_context

router = APIRouter(include_in_schema=False)
READERS = require(Role.OPERATOR, Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.AUDITOR)
SUPERVISOR = require(Role.SUPERVISOR)
RUNNERS = require(Role.OPERATOR, Role.SUPERVISOR)


def see_other(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


def watchlist_choices(request: Request) -> list[dict[str, Any]]:
    svc = state_of(request)
    ids = recent_watchlist_ids(svc.store, limit=50)
    return [asdict(watchlist_summary(svc.base, i)) for i in ids]


def _list(
    request: Request,
    who: Principal,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    wls = watchlist_choices(request) if who.role is Role.SUPERVISOR else []
    return page(
        request,
        "deployments.html",
        who,
        status,
        deployments=deployment_rows(state_of(request).store),
        watchlists=wls,
        values=values or {"hours": "8"},
        errors=errors,
    )


@router.get("/deployments", response_class=HTMLResponse)
def deployments(request: Request, who: Principal = Depends(READERS)) -> HTMLResponse:
    return _list(request, who)


async def _form_values(request: Request) -> dict[str, str]:
    form = await request.form()
    return draft_values({k: str(v) for k, v in form.items() if isinstance(v, str)})


def _save(request: Request, who: Principal, values: dict[str, str], dep_id: int | None) -> int:
    """Creates or amends; raises ``_Refused`` carrying the errors by field."""
    errors = FormErrors()
    draft = parse_draft(values, errors)
    if draft is None:
        raise _Refused(errors)
    ctx = state_of(request).context(who.username)
    try:
        if dep_id is None:
            return create_deployment(ctx, draft)
        amend_deployment(ctx, dep_id, draft)
        return dep_id
    except RuleViolation as exc:
        errors.absorb(exc, DRAFT_FIELDS, DRAFT_INPUTS)
        raise _Refused(errors) from exc


class _Refused(Exception):
    def __init__(self, errors: FormErrors) -> None:
        super().__init__("form refused")
        self.errors = errors


@router.post("/deployments", response_model=None)
async def draft(request: Request, who: Principal = Depends(SUPERVISOR)) -> Response:
    values = await _form_values(request)
    try:
        dep_id = _save(request, who, values, None)
    except _Refused as refused:
        return _list(request, who, values, refused.errors, 422)
    return see_other(f"/deployments/{dep_id}")


def _load(request: Request, dep_id: int) -> tuple[m.Deployment, list[m.Camera]]:
    return deployment_with_cameras(state_of(request).store, dep_id)


def detail(
    request: Request, who: Principal, dep_id: int, status: int = 200, **extra: Any
) -> HTMLResponse:
    svc = state_of(request)
    dep, cams = _load(request, dep_id)
    assert svc.runs is not None
    return page(
        request,
        "deployment.html",
        who,
        status,
        dep=dep,
        cameras=cams,
        watchlist=watchlist_summary(svc.base, dep.watchlist_id),
        record=deployment_record(svc.base, dep_id) if who.role is not Role.OPERATOR else None,
        running_here=dep_id in svc.runs.running(),
        run_error=svc.runs.errors.get(dep_id),
        **accountability_context(svc.base, dep),  # notice and equality evidence (issue 13)
        **extra,
    )


@router.get("/deployments/{dep_id}", response_class=HTMLResponse)
def deployment(dep_id: RowId, request: Request, who: Principal = Depends(READERS)) -> HTMLResponse:
    return detail(request, who, dep_id)


def _edit_page(
    request: Request,
    who: Principal,
    dep: m.Deployment,
    values: dict[str, str],
    errors: FormErrors | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        "deployment_edit.html",
        who,
        status,
        dep=dep,
        values=values,
        errors=errors,
        watchlists=watchlist_choices(request),
    )


@router.get("/deployments/{dep_id}/edit", response_class=HTMLResponse)
def edit_form(
    dep_id: RowId, request: Request, who: Principal = Depends(SUPERVISOR)
) -> HTMLResponse:
    dep, cams = _load(request, dep_id)
    if dep.status not in ("draft", "returned"):
        raise RuleViolation(
            "R5", f"deployment {dep_id} is {dep.status}: it can no longer be edited"
        )
    return _edit_page(request, who, dep, values_of(dep, cams))


@router.post("/deployments/{dep_id}/edit", response_model=None)
async def edit(dep_id: RowId, request: Request, who: Principal = Depends(SUPERVISOR)) -> Response:
    values = await _form_values(request)
    try:
        _save(request, who, values, dep_id)
    except _Refused as refused:
        dep, _ = _load(request, dep_id)
        return _edit_page(request, who, dep, values, refused.errors, 422)
    return see_other(f"/deployments/{dep_id}")


@router.post("/deployments/{dep_id}/withdraw", response_model=None)
async def withdraw(
    dep_id: RowId, request: Request, who: Principal = Depends(SUPERVISOR)
) -> Response:
    form = await request.form()
    reason = str(form.get("reason") or "")
    errors = FormErrors()
    if not reason.strip():
        errors.add("reason", "say why the deployment is withdrawn")
    else:
        try:
            withdraw_deployment(state_of(request).context(who.username), dep_id, reason=reason)
        except RuleViolation as exc:
            errors.absorb(exc, ("reason",), {})
    if errors:
        return detail(
            request,
            who,
            dep_id,
            422,
            errors=errors,
            values={"reason": reason},
            refusal=errors.general or None,
        )
    return see_other(f"/deployments/{dep_id}")


@router.post("/deployments/{dep_id}/{action}", response_model=None)
def start_stop(
    dep_id: RowId, action: str, request: Request, who: Principal = Depends(RUNNERS)
) -> Response:
    runs = state_of(request).runs
    assert runs is not None
    if action == "start":
        runs.start(dep_id, who.username)
    elif action == "stop":
        runs.request_stop(dep_id, who.username)
    else:
        raise ValueError("action must be start or stop")
    return see_other("/operator" if who.role is Role.OPERATOR else f"/deployments/{dep_id}")
