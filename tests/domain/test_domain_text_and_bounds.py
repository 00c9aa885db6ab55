"""Free text and numeric bounds (domain/text.py, domain/bounds.py): one row per case, each
boundary on both sides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from openlfr.domain import bounds
from openlfr.domain.text import TextRefused, bad_character, clean_text
from openlfr.errors import RuleViolation

TEXT_CASES = [
    # (text, multiline, max_length, stored or None when refused, what the refusal names)
    ("plain words", False, 64, "plain words", None),
    ("Zoë Ólafsdóttir 李", False, 64, "Zoë Ólafsdóttir 李", None),
    ("x" * 64, False, 64, "x" * 64, None),
    ("x" * 65, False, 64, None, "65 characters"),
    ("line one\nline two", False, 500, None, "U+000A"),
    ("line one\nline two", True, 500, "line one\nline two", None),
    ("crlf\r\nnext", True, 500, "crlf\nnext", None),
    ("a lone\rcarriage return", True, 500, None, "U+000D"),
    ("tab\there", True, 500, "tab\there", None),
    ("tab\there", False, 500, None, "U+0009"),
    ("esc\x1b[2Jclear", True, 500, None, "U+001B"),
    ("nul\x00cut", True, 500, None, "U+0000"),
    ("del\x7f", True, 500, None, "U+007F"),
    ("c1\x85next line", True, 500, None, "U+0085"),
    ("bidi \u202eevil", True, 500, None, "U+202E"),
    ("isolate \u2066x\u2069", True, 500, None, "U+2066"),
    ("bom\ufeff", False, 500, None, "U+FEFF"),
    ("", False, 10, "", None),
]


@pytest.mark.parametrize(("text", "multiline", "limit", "stored", "named"), TEXT_CASES)
def test_clean_text(
    text: str, multiline: bool, limit: int, stored: str | None, named: str | None
) -> None:
    if stored is not None:
        assert clean_text(text, field="f", max_length=limit, multiline=multiline) == stored
        return
    with pytest.raises(TextRefused) as info:
        clean_text(text, field="the field", max_length=limit, multiline=multiline)
    assert info.value.field == "the field"
    assert str(info.value).startswith("the field: ")
    assert named is not None and named in str(info.value)
    # A refusal is a rule violation (the API's 422) and a ValueError (Pydantic's 422).
    assert isinstance(info.value, RuleViolation) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "required", "ok"), [("", True, False), ("   ", True, False), (" a ", True, True)]
)
def test_required_text_must_not_be_blank(text: str, required: bool, ok: bool) -> None:
    if ok:
        assert clean_text(text, field="f", max_length=9, required=required) == text
    else:
        with pytest.raises(TextRefused, match="blank"):
            clean_text(text, field="f", max_length=9, required=required)


def test_bad_character_reports_the_first_position() -> None:
    assert bad_character("ab\x01c\x02", multiline=False) == (2, "U+0001")
    assert bad_character("fine", multiline=False) is None


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (0, False),
        (1, True),
        (bounds.DB_INT_MAX, True),
        (bounds.DB_INT_MAX + 1, False),
        (2**63, False),
        (-1, False),
    ],
)
def test_row_ids(value: int, ok: bool) -> None:
    if ok:
        assert bounds.check_row_id(value) == value
    else:
        with pytest.raises(RuleViolation, match="between 1 and"):
            bounds.check_row_id(value)


@pytest.mark.parametrize(
    ("hours", "ok"),
    [
        (1e-12, False),
        (bounds.MIN_WINDOW_HOURS * 0.99, False),
        (bounds.MIN_WINDOW_HOURS, True),
        (8.0, True),
        (bounds.MAX_WINDOW_HOURS, True),
        (bounds.MAX_WINDOW_HOURS + 0.01, False),
        (float("nan"), False),
        (float("inf"), False),
        (-1.0, False),
    ],
)
def test_window_hours(hours: float, ok: bool) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    if ok:
        lo, hi = bounds.window(start, hours)
        assert hi > lo  # what the end_after_start CHECK needs
    else:
        with pytest.raises(RuleViolation, match="hours"):
            bounds.window(start, hours)


@pytest.mark.parametrize(
    ("day", "ok"),
    [
        (bounds.EARLIEST_DAY - timedelta(days=1), False),
        (bounds.EARLIEST_DAY, True),
        (date(2026, 5, 1), True),
        (bounds.LATEST_DAY, True),
        (date(9999, 12, 31), False),
    ],
)
def test_days_and_moments(day: date, ok: bool) -> None:
    moment = datetime.combine(day, datetime.min.time())  # naive: taken as UTC
    if ok:
        assert bounds.check_day(day) == day
        assert bounds.check_moment(moment).tzinfo is not None
        # The largest window added to the latest day still fits a datetime.
        bounds.window(moment, bounds.MAX_WINDOW_HOURS)
    else:
        with pytest.raises(RuleViolation, match="between"):
            bounds.check_day(day)
        with pytest.raises(RuleViolation):
            bounds.window(moment, 1.0)
