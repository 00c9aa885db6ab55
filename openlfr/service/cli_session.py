"""Reads the command line needs beyond the use-cases: a deployment as its editable draft, and
whether its record is published (so that reading it needs no account)."""

from __future__ import annotations

from sqlalchemy import select

from openlfr.errors import RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.deployments import DeploymentDraft, camera_sources
from openlfr.service.records import is_published
from openlfr.store import models as m


def current_draft(ctx: AppContext, deployment_id: int) -> DeploymentDraft:
    """The deployment as it stands, as a draft: `deployment amend` changes only what it is given."""
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {deployment_id} does not exist")
        return DeploymentDraft(
            name=dep.name,
            purpose=dep.purpose,
            location=dep.location,
            location_reason=dep.location_reason,
            start=dep.start_at,
            end=dep.end_at,
            watchlist_id=dep.watchlist_id,
            cameras=camera_sources(s, dep.id),
            threshold=dep.threshold,
            equality_note=dep.equality_note or "",
        )


def record_is_published(ctx: AppContext, deployment_id: int) -> bool:
    """True when the deployment was authorised (its record is public, as on /public)."""
    with ctx.store.session() as s:
        status = s.scalar(select(m.Deployment.status).where(m.Deployment.id == deployment_id))
    return status is not None and is_published(status)
