"""The error answers every operation can give, declared in the OpenAPI schema.

FastAPI declares only 200 and its own 422; the app also answers 400 (a malformed request the
service refused), 401 (not logged in), 403 (wrong role or CSRF token), 404 (no such row), 409
(a conflicting state), 422 (a rule refused it, or a field out of range) and, for log-ins, 429.
A client generated from the schema, or a conformance checker, needs every one of them. Their
bodies are all ``{"detail": ...}`` (a message, or a list of violations), with more keys allowed.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"detail": {}},
    "required": ["detail"],
}
_DESCRIPTIONS = {
    "400": "The request was malformed or the service refused it (the message says why).",
    "401": "Not logged in, or the token or session has expired or been revoked.",
    "403": "The caller's role may not do this, or the page's CSRF token is missing or wrong.",
    "404": "No such object.",
    "409": "The object is not in a state that allows this.",
    "422": "A field is out of range or malformed, or a rule refused the act (its rule named).",
    "429": "Too many failed log-ins: wait the number of seconds in Retry-After.",
}
_LOGGED_IN: tuple[str, ...] = ("400", "401", "403", "404", "409", "422")
_PUBLIC: tuple[str, ...] = ("400", "404", "422")
_LOGIN: tuple[str, ...] = ("400", "401", "422", "429")


def _error(code: str) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[code],
        # The pages (and the public HTML record) answer errors as a page, the API as JSON.
        "content": {
            "application/json": {"schema": ERROR_SCHEMA},
            "text/html": {"schema": {"type": "string"}},
        },
    }


def declare_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Adds the error answers to every operation of ``schema`` (in place; returned too). A
    response a route declares itself is kept, except FastAPI's generic 422, whose shape the
    app's handler does not use."""
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if path == "/api/token" and method == "post":
                codes = _LOGIN
            elif path.startswith("/public"):
                codes = _PUBLIC
            else:
                codes = _LOGGED_IN
            responses = op["responses"]
            for code in codes:
                generic = code == "422" and "HTTPValidationError" in str(responses.get(code))
                if code not in responses or generic:
                    responses[code] = _error(code)
    return schema
