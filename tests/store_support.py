"""Store helpers for tests on either backend: the PostgreSQL URL CI provides, a fresh schema per
test, the environment a subprocess needs to open the same store, and a dump of every table read
through SQLAlchemy (so it works on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, MetaData, create_engine, select, text, update

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext
from openlfr.store import Store
from openlfr.vision.protocols import Detector, Embedder

PG_URL = os.environ.get("OPENLFR_TEST_PG_URL")


@contextmanager
def pg_schema(base_url: str) -> Iterator[str]:
    """A URL whose search_path is a brand-new schema on `base_url`; the schema is dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def store_env(settings: StoreSettings) -> dict[str, str]:
    """Environment variables that make `openlfr` (a subprocess or CliRunner) open this store."""
    env = {"OPENLFR_STORE__DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["OPENLFR_STORE__DATABASE_URL"] = settings.database_url
    if settings.key:
        env["OPENLFR_STORE__KEY"] = settings.key
    return env


def open_context(
    store: StoreSettings, models: tuple[Detector, Embedder], **updates: Any
) -> AppContext:
    """An AppContext on `store`, acting as pc.tester, with the session's models (no reload) and
    any other settings sections replaced by `updates` (governance=..., video=...)."""
    context = AppContext.open(
        Settings().model_copy(update={"store": store, **updates}), actor="pc.tester"
    )
    context.use_models(*models)
    return context


def as_before_0018(store: Store) -> None:
    """Every reference image as a store migrated to 0018 holds its older ones: no strength
    measured, and each bound as it was then, by a binding (v1) that did not cover it."""
    from openlfr.store import integrity
    from openlfr.store import models as m
    from openlfr.store.models_integrity import IntegrityBinding

    with store.session() as s:
        s.execute(update(m.ReferenceImage).values(mirror_agreement=None))
        keys = integrity.keys_of(s)
        for image_id in s.scalars(select(m.ReferenceImage.id)).all():
            then = integrity.PAYLOADS["reference_image"](s, image_id)
            assert then is not None
            del then["mirror_agreement"]
            binding = s.get(IntegrityBinding, ("reference_image", image_id))
            assert binding is not None
            binding.mac = keys.mac(integrity._message("reference_image", then, version=1))


def dump_tables(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table in the database, in primary-key order, as column -> value.

    Reflected rather than taken from the models, so a table or column the models do not know
    about (a stray migration, a debug table) is dumped too.
    """
    meta = MetaData()
    meta.reflect(bind=engine)
    out: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            order = list(table.primary_key.columns) or list(table.columns)
            rows = conn.execute(select(table).order_by(*order)).mappings()
            out[name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return out


def _plain(value: Any) -> Any:
    # psycopg may hand bytea back as memoryview: compare blobs as bytes on both backends.
    return bytes(value) if isinstance(value, memoryview) else value
