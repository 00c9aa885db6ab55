"""Accounts the CLI tests log in as (tests/cli/conftest.py creates them), and SQL on the
test's store for either backend."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import create_engine, text

from openlfr.config import StoreSettings

PASSWORD = "correct horse battery staple"
# username -> (role, rank, display name): one account of each role, and the odd ones tests need.
ACCOUNTS: dict[str, tuple[str, str | None, str]] = {
    "admin": ("admin", None, "Ada Admin"),
    "sup": ("supervisor", None, "Sgt Sam Supervisor"),
    "sup2": ("supervisor", None, "Sgt Second Supervisor"),
    "ao": ("authorising_officer", "superintendent", "Alex Smith"),
    "insp": ("authorising_officer", "inspector", "Bea Jones"),
    "ops": ("operator", None, "PC Olu Operator"),
    "aud": ("auditor", None, "Avery Auditor"),
}


class Db:
    """SQL on the test's store, either backend: `db.query("... WHERE id = ?", 3)` -> rows."""

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings.resolved_url())

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        names = iter(range(len(args)))
        bound = re.sub(r"\?", lambda _: f":p{next(names)}", sql)
        with self.engine.connect() as conn:
            rows = conn.execute(text(bound), {f"p{i}": a for i, a in enumerate(args)})
            return [tuple(r) for r in rows]

    def count(self, table: str) -> int:
        return int(self.query(f"SELECT count(*) FROM {table}")[0][0])
