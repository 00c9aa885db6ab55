"""Range-checked types for path, query and body fields of the API and the pages.

Every id, count, window and date a request carries is checked against the range its column
(or ``datetime``) can hold before any route code runs, so a value out of range is a 422 naming
the field, never a database or overflow error (a 500). The bounds are the domain's
(openlfr.domain.bounds, openlfr.domain.text); this module only makes them Pydantic types, which
also puts them in the OpenAPI schema (minimum, maximum, maxLength).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from annotated_types import Ge, Le, MaxLen
from pydantic import AfterValidator

from openlfr.domain import bounds
from openlfr.domain.text import clean_text
from openlfr.errors import RuleViolation

#: A row id (path or query): 1 ..  2**31 - 1.
RowId = Annotated[int, Ge(1), Le(bounds.DB_INT_MAX)]
#: A count or limit that fits an INTEGER column.
Count = Annotated[int, Ge(0), Le(bounds.DB_INT_MAX)]
#: A deployment's length in hours.
WindowHours = Annotated[float, Ge(bounds.MIN_WINDOW_HOURS), Le(bounds.MAX_WINDOW_HOURS)]


def _as_value_error(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    # Pydantic reports a ValueError as a 422 beside the field; a RuleViolation would be a 500.
    def run(value: Any) -> Any:
        try:
            return check(value)
        except RuleViolation as exc:
            raise ValueError(str(exc)) from None

    return run


#: A calendar day a person typed (a period's first or last day).
Day = Annotated[date, AfterValidator(_as_value_error(bounds.check_day))]
#: A moment (a deployment's start); naive values are taken as UTC.
Moment = Annotated[datetime, AfterValidator(_as_value_error(bounds.check_moment))]


def text(max_length: int, *, multiline: bool = False, field: str = "text") -> Any:
    """A free-text type: control characters refused, at most ``max_length`` characters."""
    check = _as_value_error(
        lambda v: clean_text(v, field=field, max_length=max_length, multiline=multiline)
    )
    return Annotated[str, MaxLen(max_length), AfterValidator(check)]


#: A reason or justification (goes into the audit log).
Reason = text(10_000, multiline=True, field="this field")
#: A one-line name or reference of at most 64 characters (a VARCHAR(64) column).
Name64 = text(64, field="this field")
#: A one-line name of at most 200 characters (a VARCHAR(200) column).
Name200 = text(200, field="this field")
