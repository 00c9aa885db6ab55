"""The FastAPI application: `create_app(settings)` wires the store, routes, live feed, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from openlfr.api.live import AlertHub
from openlfr.api.security import SecurityHeaders
from openlfr.api.state import ServiceState
from openlfr.api.uploads import DEFAULT_MULTIPART_BYTES, UploadLimit
from openlfr.config import Settings
from openlfr.errors import OpenLFRError, RuleViolation
from openlfr.service.accounts import AccountError
from openlfr.service.deployments import AuthorisationRefused
from openlfr.service.run_manager import RunManager
from openlfr.store import Store

log = logging.getLogger("openlfr.api")

_JSON_PREFIXES = ("/api/", "/ws/", "/metrics", "/public/")


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(_JSON_PREFIXES) or "application/json" in request.headers.get(
        "accept", ""
    )


def _violations(exc: RuleViolation) -> list[dict[str, str]]:
    items = exc.violations if isinstance(exc, AuthorisationRefused) else [exc]
    return [{"rule": v.rule, "message": str(v)} for v in items]


def _install_handlers(app: FastAPI) -> None:
    from openlfr.web.pages import render_error

    async def on_rule(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RuleViolation)
        violations = _violations(exc)
        body = {"detail": str(exc), "rule": exc.rule, "violations": violations}
        if _wants_json(request):
            return JSONResponse(body, status_code=422)
        return render_error(request, 422, str(exc), violations=violations)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if _wants_json(request):
            return JSONResponse(
                {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
            )
        if exc.status_code == 401:
            return RedirectResponse("/login", status_code=303)
        return render_error(request, exc.status_code, str(exc.detail))

    async def on_error(request: Request, exc: Exception) -> Response:
        # Expected failures (bad input, refused account) carry a message fit to show as it is.
        if _wants_json(request):
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return render_error(request, 400, str(exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        # The offending input is not echoed back: it may be a password.
        errors = [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()]
        if _wants_json(request):
            return JSONResponse({"detail": errors}, status_code=422)
        text = "; ".join(f"{'.'.join(map(str, e['loc'] or []))}: {e['msg']}" for e in errors)
        return render_error(request, 422, text)

    app.add_exception_handler(RuleViolation, on_rule)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(AccountError, on_error)
    app.add_exception_handler(OpenLFRError, on_error)
    app.add_exception_handler(ValueError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)


def create_app(settings: Settings, *, store: Store | None = None) -> FastAPI:
    """The operator service. ``store``: an already open store (tests); else opened here."""
    from openlfr.api import (
        routes_admin,
        routes_audit,
        routes_auth,
        routes_enrol,
        routes_ops,
        routes_review,
        routes_search,
        routes_sightings,
        routes_users,
    )
    from openlfr.web import (
        STATIC_DIR,
        pages,
        pages_audit,
        pages_deploy,
        pages_enrol,
        pages_gov,
        pages_notices,
        pages_review,
        pages_search,
        pages_subject_access,
        pages_users,
        public,
    )

    svc = ServiceState.open(settings, store)
    svc.hub = AlertHub(svc)
    svc.runs = RunManager(lambda actor, models: svc.context(actor, models=models))
    owns_store = store is None

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        assert svc.hub is not None and svc.runs is not None
        stop = asyncio.Event()
        task = asyncio.create_task(svc.hub.run(stop), name="alert-hub")
        try:
            yield
        finally:
            stop.set()
            await task
            await asyncio.to_thread(svc.runs.shutdown)
            if owns_store:
                svc.store.dispose()

    app = FastAPI(
        title="openlfr operator service",
        version="0.1.0",
        description="Live facial recognition with the law built in: alert review, deployments, "
        "watchlists, published records. Every route but /login and /public needs a role.",
        lifespan=lifespan,
        # The schema is served at /api/openapi.json to logged-in users; the interactive docs
        # pages load scripts from a CDN and run inline scripts, which the CSP forbids.
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.svc = svc
    _install_handlers(app)
    # Inside SecurityHeaders, so that its 411/413 carry the headers too.
    limits = routes_enrol.UPLOAD_LIMITS
    app.add_middleware(UploadLimit, limits=limits, default=DEFAULT_MULTIPART_BYTES)
    app.add_middleware(SecurityHeaders, hsts=settings.web.secure_cookies)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # pages_review before pages_deploy: its /deployments/{id}/authorise etc. must be matched
    # before pages_deploy's /deployments/{id}/{action} (start, stop).
    modules = (
        routes_auth, routes_ops, routes_review, routes_admin, routes_users, routes_audit,
        routes_enrol, public, pages, pages_gov, pages_users, pages_review, pages_deploy,
        pages_enrol, pages_audit,
        pages_notices, pages_subject_access,
        routes_search, pages_search, routes_sightings,
    )  # fmt: skip
    for module in modules:
        app.include_router(module.router)
    return app
