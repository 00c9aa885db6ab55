"""The ranges numbers and times must lie in before they reach the store.

A value outside its column's range used to surface as a database error (a 500 from the API):
an id of 2**63 overflows SQLite's INTEGER and PostgreSQL's, a window of 1e-12 hours breaks the
``end_at > start_at`` check once rounded to microseconds, a start in year 9999 overflows
``datetime`` when the end is computed. Each is refused here with a message instead.

Pure functions: no I/O, no clock reads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from openlfr.domain.authorisation import FieldViolation

# Ids are INTEGER columns: 4 bytes on PostgreSQL (the smaller of the two supported stores).
DB_INT_MAX = 2**31 - 1
# A deployment is at least one minute and at most a month (the authorisation rules cap the
# window far lower; this only keeps the arithmetic and the CHECK constraint safe).
MIN_WINDOW_HOURS = 1 / 60
MAX_WINDOW_HOURS = 24 * 31
# Dates people may type: wide enough for any record, narrow enough that a day or a month
# added to them cannot overflow.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def check_row_id(value: int, field: str = "id") -> int:
    if not 1 <= value <= DB_INT_MAX:
        raise FieldViolation("range", f"{field} must be between 1 and {DB_INT_MAX}", field)
    return value


def check_day(value: date, field: str = "date") -> date:
    if not EARLIEST_DAY <= value <= LATEST_DAY:
        raise FieldViolation(
            "range", f"{field} must be between {EARLIEST_DAY} and {LATEST_DAY}", field
        )
    return value


def check_moment(value: datetime, field: str = "start") -> datetime:
    """An aware UTC datetime within the typed-date range (a naive one is taken as UTC)."""
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    check_day(value.astimezone(UTC).date(), field)
    return value


def check_hours(value: float, field: str = "hours") -> float:
    if not MIN_WINDOW_HOURS <= value <= MAX_WINDOW_HOURS:  # also refuses NaN
        raise FieldViolation(
            "range",
            f"{field} must be between {MIN_WINDOW_HOURS * 60:g} minute and "
            f"{MAX_WINDOW_HOURS} hours",
            field,
        )
    return value


def window(start: datetime, hours: float) -> tuple[datetime, datetime]:
    """(start, end) of a deployment of ``hours`` from ``start``, both checked."""
    start = check_moment(start)
    end = start + timedelta(hours=check_hours(hours))
    return start, end
