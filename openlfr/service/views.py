"""Read-only views the pages and routes show: lists of deployments and watchlists, a
deployment with its cameras, the names of deployments, whether a record is published. Kept in
service/ so that api/ and web/ open no database session of their own (tests/test_layers.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from openlfr.errors import RuleViolation
from openlfr.service.records import is_published
from openlfr.store import Store
from openlfr.store import models as m


def deployment_rows(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The newest deployments, as the lists show them."""
    with store.session() as s:
        deps = s.scalars(select(m.Deployment).order_by(m.Deployment.id.desc()).limit(limit))
        return [
            {
                "id": d.id,
                "name": d.name,
                "status": d.status,
                "location": d.location,
                "start": d.start_at.isoformat(),
                "end": d.end_at.isoformat(),
                "watchlist_id": d.watchlist_id,
                "threshold": d.threshold,
                "authorised_by": d.authorised_by,
                "authoriser_rank": d.authoriser_rank,
                "created_by": d.created_by,
                "end_reason": d.end_reason,
                "did_not_run": bool(d.run_failed),
                "review_note": d.review_note,
                "reviewed_by": d.reviewed_by,
            }
            for d in deps
        ]


def deployment_names(store: Store, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    with store.session() as s:
        rows = s.execute(
            select(m.Deployment.id, m.Deployment.name).where(m.Deployment.id.in_(wanted))
        )
        return {int(i): str(n) for i, n in rows}


def recent_watchlist_ids(store: Store, limit: int = 100) -> list[int]:
    with store.session() as s:
        return list(s.scalars(select(m.Watchlist.id).order_by(m.Watchlist.id.desc()).limit(limit)))


def deployment_with_cameras(store: Store, dep_id: int) -> tuple[m.Deployment, list[m.Camera]]:
    """The deployment and its cameras, detached (safe to read after the session)."""
    with store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        if dep is None:
            raise RuleViolation("R5", f"deployment {dep_id} does not exist")
        cams = list(
            s.scalars(
                select(m.Camera).where(m.Camera.deployment_id == dep_id).order_by(m.Camera.id)
            )
        )
        s.expunge_all()
    return dep, cams


def has_published_record(store: Store, deployment_id: int) -> bool:
    """Only an authorised deployment has a public record: a draft, a request returned or
    refused, and a withdrawn one never searched anybody (they are counted, not listed)."""
    with store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        return dep is not None and is_published(dep.status)
