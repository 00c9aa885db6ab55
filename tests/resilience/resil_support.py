"""Helpers for the resilience tests: the subject's image spec, and a store made "full" for real
(SQLite's own max_page_count)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, event

from openlfr.service.enrolment import ImageSpec


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
