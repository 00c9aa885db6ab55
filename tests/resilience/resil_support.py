"""Helpers for the resilience tests: the subject's image spec, and a store made "full" for real
(SQLite's own max_page_count)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, event

from openlfr.service.accounts import create_account
from openlfr.service.enrolment import ImageSpec
from openlfr.service.sessions import issue_session
from openlfr.store import Store
from openlfr.store.models_accounts import SessionKind


def katie_spec(ref: Path) -> ImageSpec:
    return ImageSpec(ref, "CUST-7", "PACE s64A", "charged", date.today(), 30)


def cap_pages(engine: Engine, spare_pages: int = 0) -> Callable[[], None]:
    """Makes the SQLite file `engine` writes "full": every connection opened from now on may
    grow it by `spare_pages` pages at most (PRAGMA max_page_count), so a write that needs more
    fails with SQLite's own "database or disk is full". Returns the function that lifts it."""

    def cap(dbapi_conn: object, _record: object) -> None:
        cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages + spare_pages}")
        cur.close()

    engine.dispose()  # pooled connections were opened uncapped
    event.listen(engine, "connect", cap)

    def lift() -> None:
        event.remove(engine, "connect", cap)
        engine.dispose()

    return lift


def login_env(store: Store, role: str) -> dict[str, str]:
    """OPENLFR_TOKEN for a fresh account with `role`: what `openlfr login` would leave, so the
    CLI (in-process or a subprocess) acts as that account."""
    name = f"{role}.{secrets.token_hex(3)}"
    account_id = create_account(
        store, username=name, password="correct horse battery", role=role,
        display_name=f"{role.title()} Tester", rank=None, created_by="test",
    )  # fmt: skip
    token, _csrf = issue_session(store, int(account_id), SessionKind.BEARER, 1.0, "test")
    return {"OPENLFR_TOKEN": token, "OPENLFR_ACTOR": name}
