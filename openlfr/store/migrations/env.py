"""Alembic environment. Normally driven by ``openlfr.store.db.migrate``, which hands over an open
connection in ``config.attributes["connection"]``; a URL in ``sqlalchemy.url`` also works."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from openlfr.store.db import make_engine
from openlfr.store.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url set")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("openlfr migrations run online only")
run_migrations_online()
