"""The insider: direct SQL on the real database file (or PostgreSQL schema) with no key files,
and the checks an honest openlfr then makes (`openlfr audit verify`, a run, a gallery).

The SQL goes through a bare engine of its own: no openlfr session, hence no keys, exactly what
a database administrator or someone holding a copy of the file has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from store_support import open_context, store_env
from suite import SHARED_DATA
from typer.testing import CliRunner, Result

from openlfr.cli import app
from openlfr.config import StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.store import AuditAction, Store, append_audit, open_store
from openlfr.store.audit import compute_row_hash
from openlfr.store.models import AuditEntry
from openlfr.vision.protocols import Detector, Embedder

#: The stores of these tests sign a checkpoint every this many audit rows (see conftest.py).
CHECKPOINT_EVERY = 10
LFW = SHARED_DATA / "lfw" / "images"
CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"

_DROP_TRIGGERS = {
    "sqlite": [
        "DROP TRIGGER audit_log_no_update",
        "DROP TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_checkpoints_no_update",
        "DROP TRIGGER audit_checkpoints_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER audit_log_no_update_delete ON audit_log",
        "DROP TRIGGER audit_checkpoints_no_update_delete ON audit_checkpoints",
    ],
}


def sql(settings: StoreSettings, *statements: str, **params: Any) -> list[Any]:
    """Run ``statements`` as the insider, in one transaction; the last one's rows (if any)."""
    engine = create_engine(settings.resolved_url())
    try:
        with engine.begin() as conn:
            out: list[Any] = []
            for statement in statements:
                result = conn.execute(text(statement), params)
                out = list(result) if result.returns_rows else []
            return out
    finally:
        engine.dispose()


def drop_triggers(settings: StoreSettings) -> None:
    dialect = "sqlite" if settings.database_url is None else "postgresql"
    sql(settings, *_DROP_TRIGGERS[dialect])


def append_rows(store: Store, n: int) -> None:
    """``n`` honest audit rows, each appended through openlfr in its own transaction."""
    for i in range(n):
        with store.session() as s:
            append_audit(
                s,
                actor="pc.tester",
                action=AuditAction.CONSULTATION,
                object_type="thing",
                object_id=i,
                justification=f"reading {i}",
            )


def rechain_from(settings: StoreSettings, first: int) -> None:
    """Recompute every hash from row ``first`` on and the head, as an insider with the code
    (but not the keys) can."""
    store = open_store(settings)
    try:
        with store.session() as s:
            rows = list(s.query(AuditEntry).order_by(AuditEntry.id))
    finally:
        store.dispose()
    prev = rows[first - 2].row_hash if first > 1 else "0" * 64
    for row in rows[first - 1 :]:
        fields = row.as_dict()
        fields.pop("row_hash")
        fields["prev_hash"] = prev
        fields["at"] = row.at
        new = compute_row_hash(**fields)
        sql(settings, "UPDATE audit_log SET prev_hash = :p, row_hash = :h WHERE id = :id",
            p=prev, h=new, id=row.id)  # fmt: skip
        prev = new
    sql(settings, "UPDATE audit_head SET last_hash = :h, last_id = :i WHERE id = 1",
        h=prev, i=rows[-1].id)  # fmt: skip


def cli(settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """`openlfr ARGS` in-process on this store, output unwrapped."""
    from openlfr.cli import common

    monkeypatch.setattr(common.console, "_width", 4000)
    monkeypatch.setattr(common.err_console, "_width", 4000)
    return CliRunner().invoke(app, list(args), env=store_env(settings))


def verify(settings: StoreSettings, monkeypatch: pytest.MonkeyPatch, *extra: str) -> Result:
    args = ["audit", "verify"]
    if settings.database_url is None:  # the file itself, as an auditor would name it
        args += ["--db", str(settings.data_dir / "openlfr.db")]
    return cli(settings, monkeypatch, *args, *extra)


def open_ctx(settings: StoreSettings, models: tuple[Detector, Embedder]) -> AppContext:
    return open_context(settings, models)


def enrol(ctx: AppContext, ref: str, person: str, number: int = 1) -> int:
    spec = ImageSpec(
        path=LFW / person / f"{person}_{number:04d}.jpg",
        source_ref=f"CUST-{ref}",
        lawful_basis="PACE s64A",
        case_outcome="charged",
        age_at_capture=30,
    )
    result = enrol_subject(ctx, reference=ref, display_name=ref, category="suspect", images=[spec])
    assert not result.refused, result.refused
    [(_, image_id)] = result.enrolled
    return image_id


def authorised(ctx: AppContext, watchlist_id: int, cameras: Iterable[tuple[str, Path]]) -> int:
    now = utcnow()
    draft = DeploymentDraft(
        name="Operation Insider",
        purpose="locate a wanted suspect",
        location="High Street",
        location_reason="sightings reported there",
        start=now,
        end=now + timedelta(hours=2),
        watchlist_id=watchlist_id,
        cameras=[(name, str(path)) for name, path in cameras],
        equality_note="threshold at the calibrated floor; demographic review done",
    )
    dep_id = create_deployment(ctx, replace(draft))
    authorise_deployment(
        ctx, dep_id, officer="A Smith", rank="superintendent", reasons="sightings reported"
    )
    return dep_id
