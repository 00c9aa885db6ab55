"""The OpenAPI schema of the app, built once on first request (kept apart from app.py so a
route serving it need not import the module that builds the app)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from openlfr.api.openapi_errors import declare_error_responses


def openapi_schema(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        app.openapi_schema = declare_error_responses(  # the 4xx answers too (H5, issue 9)
            get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
        )
    return app.openapi_schema
