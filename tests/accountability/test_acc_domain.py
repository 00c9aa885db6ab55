"""The pure rules of issue 13, table-driven: reason wanted against the lawful category (R1),
small-count suppression, the notice plan at authorisation and the notice check at start (R19,
R5 extended), and withholding reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openlfr.domain import WatchlistCategory
from openlfr.domain.authorisation import check_notice_passed
from openlfr.domain.notices import (
    NoticeFacts,
    WithholdReason,
    check_notice_plan,
    notice_may_start_at,
    parse_withhold_reason,
)
from openlfr.domain.reasons import (
    REASONS,
    ReasonWanted,
    check_reason_fits,
    parse_reason,
    suppress_small,
)
from openlfr.errors import RuleViolation

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("reason", "category", "fits"),
    [
        ("failing_to_appear", "wanted_by_courts", True),
        ("Failing to appear at court", "wanted by the courts", True),
        ("recall_to_prison", "wanted_by_courts", True),
        ("breach_sexual_offence_conditions", "court_conditions", True),
        ("breach_court_conditions", "court_conditions", True),
        ("vawg_offence", "suspect", True),
        ("violent_offence", "suspect", True),
        ("acquisitive_offence", "suspect", True),
        ("missing_vulnerable", "missing_vulnerable", True),
        ("mappa_management", "mappa", True),
        ("failing_to_appear", "suspect", False),
        ("vawg_offence", "court_conditions", False),
        ("mappa_management", "missing_vulnerable", False),
        ("breach_sexual_offence_conditions", "suspect", False),
    ],
)
def test_reason_fits_its_category(reason: str, category: str, fits: bool) -> None:
    if fits:
        assert check_reason_fits(reason, category) is parse_reason(reason)
    else:
        with pytest.raises(RuleViolation, match="belongs to the category") as refused:
            check_reason_fits(reason, category)
        assert refused.value.rule == "R1"


@pytest.mark.parametrize("text", ["intelligence interest", "", "failing", "other"])
def test_reason_not_on_the_list_is_refused(text: str) -> None:
    with pytest.raises(RuleViolation, match="not on the list") as refused:
        parse_reason(text)
    assert refused.value.rule == "R1"


def test_every_reason_maps_to_one_lawful_category_and_every_category_has_one() -> None:
    assert set(REASONS) == set(ReasonWanted)
    assert {r.category for r in ReasonWanted} == set(WatchlistCategory)
    # Sexual-offence conditions are told apart from other court conditions.
    conditions = [r for r in ReasonWanted if r.category is WatchlistCategory.COURT_CONDITIONS]
    assert len(conditions) == 2 and len({r.label for r in conditions}) == 2


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, "<5"), (4, "<5"), (5, 5), (300, 300)])
def test_small_counts_are_suppressed(count: int, shown: int | str) -> None:
    assert suppress_small(count) == shown


@pytest.mark.parametrize(
    ("start", "end", "hours", "withhold", "note", "rules"),
    [
        (T0 + 30 * H, T0 + 34 * H, 24, None, "", []),  # notice passes before the start
        (T0, T0 + 30 * H, 24, None, "", []),  # passes inside the window: may start late
        (T0, T0 + 24 * H, 24, None, "", ["R19"]),  # would pass exactly at the end: never runs
        (T0, T0 + 4 * H, 24, None, "", ["R19"]),
        (T0, T0 + 4 * H, 0, None, "", []),  # no notice period (demo, evaluation, tests)
        (T0, T0 + 4 * H, 24, "threat_to_life", "named witness at risk today", []),
        (T0, T0 + 4 * H, 24, "threat_to_life", "  ", ["R19"]),  # no note
        (T0, T0 + 4 * H, 24, "it is quicker", "note", ["R19"]),  # not on the list
    ],
)
def test_notice_plan_at_authorisation(
    start: datetime, end: datetime, hours: float, withhold: str | None, note: str, rules: list[str]
) -> None:
    found = check_notice_plan(
        start=start, end=end, now=T0, notice_hours=hours, withhold=withhold, withhold_note=note
    )
    assert [v.rule for v in found] == rules


@pytest.mark.parametrize(
    ("notice", "now", "may"),
    [
        (None, T0, False),  # no notice row at all: never runs (R5 extended)
        (None, T0 + 100 * H, False),
        (NoticeFacts(T0, 24), T0 + 23 * H, False),
        (NoticeFacts(T0, 24), T0 + 24 * H, True),
        (NoticeFacts(T0, 0), T0, True),
        (NoticeFacts(None, 0, "threat_to_life"), T0, True),  # withheld for a listed reason
        (NoticeFacts(None, 24), T0 + 100 * H, False),  # neither published nor withheld
    ],
)
def test_notice_check_at_start(notice: NoticeFacts | None, now: datetime, may: bool) -> None:
    start = T0 + 2 * H  # the window opens 2 h after the notice went up
    if may:
        check_notice_passed(7, min(start, now), notice, now)
        return
    with pytest.raises(RuleViolation) as refused:
        check_notice_passed(7, start, notice, now)
    assert refused.value.rule == "R19" and "deployment 7" in str(refused.value)


def test_may_start_is_the_later_of_start_and_notice_end() -> None:
    assert notice_may_start_at(T0, T0 + 30 * H, 24) == T0 + 30 * H
    assert notice_may_start_at(T0, T0 + 2 * H, 24) == T0 + 24 * H


def test_withhold_reasons_parse_by_value_and_label() -> None:
    for r in WithholdReason:
        assert parse_withhold_reason(r.value) is r and parse_withhold_reason(r.label) is r
    with pytest.raises(RuleViolation) as refused:
        parse_withhold_reason("press interest")
    assert refused.value.rule == "R19"


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_notice_passed(1, T0, NoticeFacts(T0, 0), datetime(2026, 5, 1))
