"""The operator service: FastAPI (REST + WebSocket), accounts and roles, live alerts, metrics.

``create_app(settings)`` builds the app; ``openlfr serve`` runs it under uvicorn.
"""

from openlfr.api.app import create_app

__all__ = ["create_app"]
