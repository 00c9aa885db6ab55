"""Governance test support: real LFW images enrolled with the real models into the test's store
(SQLite or PostgreSQL: see conftest.py), and a "world" that holds one of everything retention
touches; a table dump, audit rows, and the CLI run in-process against the same store.

Times are passed in (``now=``), never slept for: the world's deployment ended at ``END`` and each
test asks the purge what is due at ``END + some offset``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select
from store_support import dump_tables, store_env
from suite import SHARED_DATA
from typer.testing import CliRunner

from openlfr.cli import app
from openlfr.service.accounts import create_account
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.sessions import issue_session
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.models_accounts import SessionKind

# Module constants (parametrize ids use them); a test that reads them asks for `shared_data`
# (through the `open_ctx` fixture) or `suite.data_path`, so missing data skips (fails in CI).
LFW = SHARED_DATA / "lfw" / "images"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"

#: The ``open_ctx`` fixture: ``open_ctx(governance={...}, realtime=False)`` -> an AppContext.
OpenCtx = Callable[..., AppContext]

#: When the world's deployment ended; every "now" in the tests is an offset from it.
END = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)
#: When its alerts were raised: an hour before the end.
RAISED = END - timedelta(hours=1)

#: (status, outcome) of each alert in the world and whether R10 keeps its crop past 31 days.
ALERTS: list[tuple[str, str | None, bool]] = [
    ("pending", None, False),
    ("false_alert", None, False),
    ("not_actioned", None, False),
    ("confirmed", None, False),
    ("confirmed", "engaged_no_arrest", False),
    ("confirmed", "no_further_action", False),
    ("confirmed", "arrested", True),
    ("confirmed", "charged_or_cautioned", True),
    ("confirmed", "bailed_or_released_under_investigation", True),
]


#: Nothing listens on port 1: a stream is refused at once (no test waits on a time-out), and
#: a runner retries it while authorised. The credentials must never reach a message or the log.
DEAD_URL = "rtsp://viewer:secret@127.0.0.1:1/stream"

#: An officer of the rank R5 asks for, as the service is called for a superintendent's account.
SUPT = {"officer": "A Smith", "rank": "superintendent"}


def draft(watchlist_id: int, /, **changes: Any) -> DeploymentDraft:
    """A draft that passes every drafting rule: open from now for two hours on the clip;
    ``changes`` replace fields (``end=...``, ``cameras=[...]``, ``threshold=...``)."""
    now = utcnow()
    base = DeploymentDraft(
        name="Operation Test",
        purpose="locate a wanted suspect",
        location="High Street",
        location_reason="sightings reported there",
        start=now,
        end=now + timedelta(hours=2),
        watchlist_id=watchlist_id,
        cameras=[("cam1", str(CLIP))],
        equality_note="threshold at the calibrated floor; demographic review done",
    )
    return replace(base, **changes)


def authorised(ctx: AppContext, watchlist_id: int, /, **changes: Any) -> int:
    """A deployment drafted with ``draft(watchlist_id, **changes)`` and authorised."""
    dep_id = create_deployment(ctx, draft(watchlist_id, **changes))
    authorise_deployment(ctx, dep_id, **SUPT, reasons="sightings reported")
    return dep_id


def enrol(
    ctx: AppContext, ref: str, images: list[tuple[str, int, str]], category: str = "suspect"
) -> list[int]:
    """Enrols LFW images (person, number, custody source) of one subject; returns image ids."""
    specs = [
        ImageSpec(
            path=LFW / person / f"{person}_{number:04d}.jpg",
            source_ref=source,
            lawful_basis="PACE s64A",
            case_outcome="charged",
            age_at_capture=30,
        )
        for person, number, source in images
    ]
    result = enrol_subject(ctx, reference=ref, display_name=ref, category=category, images=specs)
    assert not result.refused, result.refused
    return [image_id for _, image_id in result.enrolled]


@dataclass
class World:
    images: dict[str, list[int]]  # subject ref -> its image ids
    watchlist_id: int
    deployment_id: int
    camera_id: int
    alerts: dict[tuple[str, str | None], int]  # (status, outcome) -> alert id


def add_deployment(
    ctx: AppContext, watchlist_id: int, *, end: datetime, status: str = "ended"
) -> tuple[int, int]:
    """A deployment row as a finished run leaves it (inserted directly: its window is past)."""
    with ctx.store.session() as s:
        dep = m.Deployment(
            name="Operation Past",
            purpose="locate wanted suspects",
            location="High Street",
            location_reason="reported sightings",
            start_at=end - timedelta(hours=8),
            end_at=end,
            watchlist_id=watchlist_id,
            threshold=0.5,
            status=status,
            authorised_by="A Smith",
            authoriser_rank="superintendent",
            created_by="pc.tester",
            started_at=end - timedelta(hours=8),
            ended_at=end if status == "ended" else None,
        )
        s.add(dep)
        s.flush()
        cam = m.Camera(deployment_id=dep.id, name="cam1", source=str(CLIP))
        s.add(cam)
        s.flush()
        return dep.id, cam.id


def build_world(ctx: AppContext) -> World:
    images = {
        "PNC-GUL": enrol(
            ctx, "PNC-GUL", [("Abdullah_Gul", 1, "CUST-G1"), ("Abdullah_Gul", 2, "CUST-G2")]
        ),
        "PNC-BRODY": enrol(ctx, "PNC-BRODY", [("Adrien_Brody", 1, "CUST-B1")], "wanted_by_courts"),
        "PNC-COOK": enrol(ctx, "PNC-COOK", [("AJ_Cook", 1, "CUST-C1")]),
    }
    wl = compile_watchlist(ctx, "Operation Past")
    dep_id, cam_id = add_deployment(ctx, wl.id, end=END)
    alerts: dict[tuple[str, str | None], int] = {}
    gul = images["PNC-GUL"][0]
    with ctx.store.session() as s:
        subject_id = s.scalar(select(m.Subject.id).where(m.Subject.reference == "PNC-GUL"))
        for track, (status, outcome, _kept) in enumerate(ALERTS):
            row = m.Alert(
                deployment_id=dep_id,
                camera_id=cam_id,
                track_id=track,
                subject_id=subject_id,
                reference_image_id=gul,
                score=0.6,
                margin=0.2,
                first_frame=1,
                last_frame=9,
                raised_at=RAISED,
                status=status,
                outcome=outcome,
            )
            ctx.store.seal(s, row, probe_crop_blob=f"crop of track {track}".encode())
            alerts[(status, outcome)] = row.id
    return World(images, wl.id, dep_id, cam_id, alerts)


Dump = dict[str, list[dict[str, Any]]]


def dump(ctx: AppContext) -> Dump:
    """Every row of every table, blobs as SHA-256: equal dumps mean nothing at all changed."""

    def plain(value: Any) -> Any:
        return hashlib.sha256(value).hexdigest() if isinstance(value, bytes) else value

    return {
        table: [{k: plain(v) for k, v in row.items()} for row in rows]
        for table, rows in dump_tables(ctx.store.engine).items()
    }


def audit_rows(ctx: AppContext, **where: Any) -> list[m.AuditEntry]:
    with ctx.store.session() as s:
        query = select(m.AuditEntry).order_by(m.AuditEntry.id)
        for column, value in where.items():
            query = query.where(getattr(m.AuditEntry, column) == value)
        return list(s.scalars(query))


def cli(
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    args: Sequence[str],
    env: dict[str, str] | None = None,
) -> Result:
    """`openlfr ARGS` in-process on ctx's store (SQLite or PostgreSQL: ``store_env``), output
    unwrapped so a message can be matched whole."""
    from openlfr.cli import common

    monkeypatch.setattr(common.console, "_width", 4000)
    monkeypatch.setattr(common.err_console, "_width", 4000)
    return CliRunner().invoke(app, list(args), env={**store_env(ctx.settings.store), **(env or {})})


def login_env(ctx: AppContext, name: str, role: str, rank: str | None = None) -> dict[str, str]:
    """OPENLFR_TOKEN for a new account `name` with `role` (and `rank`), as `openlfr login`
    would leave it: the CLI then acts, and is audited, as that account."""
    account_id = create_account(
        ctx.store, username=name, password="correct horse battery", role=role,
        display_name=f"{name} (test)", rank=rank, created_by="test",
    )  # fmt: skip
    token, _csrf = issue_session(ctx.store, int(account_id), SessionKind.BEARER, 1.0, "test")
    return {"OPENLFR_TOKEN": token}
