"""Log-in, log-out, the landing redirect, the live operator page and the error page."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from openlfr.api.deps import (
    COOKIE,
    check_login,
    client_ip,
    principal_of,
    refuse,
    require,
    state_of,
)
from openlfr.service.sessions import Principal, issue_session, revoke_session
from openlfr.store.models_accounts import Role, SessionKind
from openlfr.web import TEMPLATES

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "openlfr_login_csrf"

HOME = {
    Role.OPERATOR: "/operator",
    Role.SUPERVISOR: "/deployments",
    Role.AUTHORISING_OFFICER: "/deployments",
    Role.AUDITOR: "/audit",
    Role.ADMIN: "/admin/users",
    Role.INVESTIGATOR: "/search",
}

NAV: list[tuple[str, str, set[Role]]] = [
    ("/operator", "Live alerts", {Role.OPERATOR}),
    (
        "/deployments",
        "Deployments",
        {Role.OPERATOR, Role.SUPERVISOR, Role.AUTHORISING_OFFICER, Role.AUDITOR},
    ),
    ("/enrol", "Enrol", {Role.SUPERVISOR}),
    ("/watchlists", "Watchlists", {Role.SUPERVISOR}),
    ("/exceptional", "Exceptional reasons", {Role.SUPERVISOR}),
    ("/audit", "Audit log", {Role.AUDITOR}),
    ("/subject-access", "Subject access", {Role.SUPERVISOR, Role.AUDITOR}),
    ("/search", "Custody search", {Role.INVESTIGATOR}),
    ("/admin/users", "Users", {Role.ADMIN}),
    ("/public", "Public record", set(Role)),
]


def page(
    request: Request, template: str, who: Principal | None, status: int = 200, **ctx: Any
) -> HTMLResponse:
    nav = [(href, label) for href, label, roles in NAV if who and who.role in roles]
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"who": who, "nav": nav, "path": request.url.path, **ctx},
        status_code=status,
    )


def render_error(
    request: Request, status: int, message: str, violations: list[dict[str, str]] | None = None
) -> HTMLResponse:
    who = getattr(request.state, "principal", None)
    # Most forms come back themselves with their errors; for any other refusal, a way back to
    # the page it came from (same site only), where the browser keeps what was typed.
    referer = request.headers.get("referer", "")
    same_site = referer.startswith(f"{request.url.scheme}://{request.url.netloc}/")
    return page(
        request,
        "error.html",
        who,
        status,
        code=status,
        message=message,
        violations=violations or [],
        back=referer if same_site and referer != str(request.url) else "",
    )


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,  # no script can read the session: an XSS cannot carry it away
        samesite="strict",  # never sent on a request started by another site
        secure=state_of(request).settings.web.secure_cookies,
        path="/",
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, error: str = "") -> HTMLResponse:
    # Log-in CSRF (double submit): the form's hidden token must equal this cookie, which a
    # forging site can neither read nor set.
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", None, error=error, csrf=token)
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@router.post("/login")
def login(
    request: Request,
    username: str = Form(..., max_length=64),
    password: str = Form(..., max_length=1024),
    csrf_token: str = Form(""),
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        raise refuse(request, 403, "log-in form expired or forged: reload the page")
    try:
        account = check_login(request, username, password)
    except HTTPException as exc:
        if exc.status_code == 429:
            return page(request, "login.html", None, 429, error=str(exc.detail), csrf=cookie)
        return page(
            request, "login.html", None, 401, error="Wrong username or password.", csrf=cookie
        )
    svc = state_of(request)
    hours = svc.settings.web.session_hours
    token, _ = issue_session(svc.store, account.id, SessionKind.COOKIE, hours, client_ip(request))
    response = RedirectResponse(HOME[Role(account.role)], status_code=303)
    _set_cookie(response, request, COOKIE, token, int(hours * 3600))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(request: Request, _: Principal = Depends(require())) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        revoke_session(state_of(request).store, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/")
def home(request: Request) -> Response:
    who = principal_of(request)
    return RedirectResponse(HOME[who.role] if who else "/login", status_code=303)


@router.get("/operator", response_class=HTMLResponse)
def operator(request: Request, who: Principal = Depends(require(Role.OPERATOR))) -> HTMLResponse:
    """The live page: cameras' health and the alert queue; data arrives by fetch and WebSocket."""
    order = state_of(request).settings.web.alert_order
    return page(request, "operator.html", who, alert_order=order)
