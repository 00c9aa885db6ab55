"""Governance test support: real LFW images enrolled with the real models into a SQLite file in
tmp_path, and a "world" that holds one of everything retention touches.

Times are passed in (``now=``), never slept for: the world's deployment ended at ``END`` and each
test asks the purge what is due at ``END + some offset``.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from openlfr.api.accounts import create_account, issue_session
from openlfr.config import Settings, StoreSettings, VideoSettings
from openlfr.domain import GovernanceSettings
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.models_accounts import SessionKind
from openlfr.vision.protocols import Detector, Embedder

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"
CLIP = DATA / "video" / "WDA_KatieHill_000.mp4"

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


def open_ctx(
    tmp_path: Path,
    models: tuple[Detector, Embedder],
    *,
    governance: dict[str, Any] | None = None,
    realtime: bool = False,
) -> AppContext:
    settings = Settings().model_copy(
        update={
            "store": StoreSettings(data_dir=tmp_path / "store"),
            "governance": GovernanceSettings(**(governance or {})),
            "video": VideoSettings(realtime=realtime),
        }
    )
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = models
    return context


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


def dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, blobs as SHA-256: equal dumps mean nothing at all changed."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in sorted(tables):
            rows = conn.execute(f'SELECT * FROM "{table}" ORDER BY rowid').fetchall()
            out[table] = [
                tuple(hashlib.sha256(v).hexdigest() if isinstance(v, bytes) else v for v in row)
                for row in rows
            ]
    return out


def audit_rows(ctx: AppContext, **where: Any) -> list[m.AuditEntry]:
    with ctx.store.session() as s:
        query = select(m.AuditEntry).order_by(m.AuditEntry.id)
        for column, value in where.items():
            query = query.where(getattr(m.AuditEntry, column) == value)
        return list(s.scalars(query))


def db_file(ctx: AppContext) -> Path:
    return ctx.settings.store.data_dir / "openlfr.db"


def login_env(ctx: AppContext, name: str, role: str, rank: str | None = None) -> dict[str, str]:
    """OPENLFR_TOKEN for a new account `name` with `role` (and `rank`), as `openlfr login`
    would leave it: the CLI then acts, and is audited, as that account."""
    account_id = create_account(
        ctx.store, username=name, password="correct horse battery", role=role,
        display_name=f"{name} (test)", rank=rank, created_by="test",
    )  # fmt: skip
    token, _csrf = issue_session(ctx.store, int(account_id), SessionKind.BEARER, 1.0, "test")
    return {"OPENLFR_TOKEN": token}
