"""The administrator's page: accounts, and grants awaiting a second administrator. Every form
posts with the session's CSRF token and a reason (audited); a refused form comes back with
its error beside the field."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from openlfr.api.deps import require, state_of
from openlfr.service import account_grants, accounts
from openlfr.service.accounts import AccountError
from openlfr.service.sessions import Principal
from openlfr.store.models_accounts import Role
from openlfr.web.forms import FormErrors
from openlfr.web.pages import page
from openlfr.web.pages_deploy import see_other

router = APIRouter(include_in_schema=False)
ADMIN = require(Role.ADMIN)
ADD_FIELDS = ("username", "password", "rank", "role", "reason")


def users_page(
    request: Request, who: Principal, *, values: dict[str, str] | None = None,
    errors: FormErrors | None = None, status: int = 200,
) -> HTMLResponse:  # fmt: skip
    store = state_of(request).store
    return page(
        request, "users.html", who, status, accounts=accounts.list_accounts(store),
        grants=account_grants.pending_grants(store), roles=list(Role), values=values or {},
        errors=errors,
    )  # fmt: skip


def _refused(request: Request, who: Principal, exc: AccountError,
             values: dict[str, str] | None = None) -> HTMLResponse:  # fmt: skip
    errors = FormErrors()
    text = str(exc)
    name = next((n for n in ADD_FIELDS if n in text), None) if values is not None else None
    errors.add(name or ("username" if values and "already exists" in text else None), text)
    return users_page(request, who, values=values, errors=errors, status=422)


@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, who: Principal = Depends(ADMIN)) -> HTMLResponse:
    return users_page(request, who)


@router.post("/admin/users", response_model=None)
def add_user(
    request: Request, username: str = Form(""), password: str = Form(""), role: str = Form(""),
    display_name: str = Form(""), rank: str = Form(""), reason: str = Form(""),
    who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    try:
        accounts.add_account(
            state_of(request).store, actor=who.username, username=username, password=password,
            role=role, display_name=display_name, rank=rank or None, reason=reason,
        )  # fmt: skip
    except AccountError as exc:  # the form again, as typed (but the password), error beside
        values = {"username": username, "role": role, "display_name": display_name,
                  "rank": rank, "reason": reason}  # fmt: skip
        return _refused(request, who, exc, values)
    return see_other("/admin/users")


@router.post("/admin/users/{username}/password", response_model=None)
def user_password(
    username: str, request: Request, password: str = Form(..., max_length=1024),
    reason: str = Form(..., max_length=2000), old_password: str = Form("", max_length=1024),
    who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    try:
        accounts.reset_password(state_of(request).store, username, password, actor=who.username,
                                reason=reason, old_password=old_password or None)  # fmt: skip
    except AccountError as exc:
        return _refused(request, who, exc)
    return see_other("/admin/users")


@router.post("/admin/users/{username}/grant", response_model=None)
def user_grant(
    username: str, request: Request, role: str = Form(...), rank: str = Form(""),
    reason: str = Form(..., max_length=2000), who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    try:
        account_grants.request_grant(
            state_of(request).store, username, role=role, rank=rank or None,
            actor=who.username, reason=reason,
        )  # fmt: skip
    except AccountError as exc:
        return _refused(request, who, exc)
    return see_other("/admin/users")


@router.post("/admin/users/{username}/{action}", response_model=None)
def user_state(
    username: str, action: str, request: Request, reason: str = Form(..., max_length=2000),
    who: Principal = Depends(ADMIN),
) -> Response:  # fmt: skip
    """disable / enable an account; approve / reject its grant (a second administrator)."""
    store = state_of(request).store
    try:
        if action in ("disable", "enable"):
            accounts.set_disabled(store, username, disabled=action == "disable",
                                  actor=who.username, reason=reason)  # fmt: skip
        elif action in ("approve", "reject"):
            account_grants.decide_grant(store, username, approve=action == "approve",
                                  actor=who.username, reason=reason)  # fmt: skip
        else:
            raise ValueError("action must be disable, enable, approve or reject")
    except AccountError as exc:
        return _refused(request, who, exc)
    return see_other("/admin/users")
