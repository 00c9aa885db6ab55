"""R1 and the rule table."""

from __future__ import annotations

import pytest

from openlfr.domain.categories import WatchlistCategory, parse_category
from openlfr.domain.rules import RULES, cite
from openlfr.errors import RuleViolation


def test_rule_table_is_r1_to_r16_in_order() -> None:
    assert list(RULES) == [f"R{n}" for n in range(1, 21)]
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.summary and rule.source and rule.citation


@pytest.mark.parametrize(
    ("rule_id", "fragment"),
    [
        ("R1", "EWCA Civ 1058"),
        ("R3", "RMC & FJ v MPC [2012] EWHC 1681"),
        ("R12", "s62"),
        ("R15", "Equality Duty"),
    ],
)
def test_cite_names_rule_and_source(rule_id: str, fragment: str) -> None:
    text = cite(rule_id)
    assert text.startswith(f"{rule_id}; ")
    assert fragment in text


def test_category_values_are_stable() -> None:
    # Stored, hashed into snapshots and published: changing one breaks old records.
    assert [c.value for c in WatchlistCategory] == [
        "wanted_by_courts",
        "suspect",
        "court_conditions",
        "mappa",
        "missing_vulnerable",
    ]
    assert all(c.label for c in WatchlistCategory)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("wanted_by_courts", WatchlistCategory.WANTED_BY_COURTS),
        ("Wanted by the courts", WatchlistCategory.WANTED_BY_COURTS),
        ("  suspect ", WatchlistCategory.SUSPECT),
        ("wanted on reasonable grounds", WatchlistCategory.SUSPECT),
        ("court-conditions", WatchlistCategory.COURT_CONDITIONS),
        ("subject to court-imposed conditions", WatchlistCategory.COURT_CONDITIONS),
        ("MAPPA", WatchlistCategory.MAPPA),
        ("missing_vulnerable", WatchlistCategory.MISSING_VULNERABLE),
        ("Missing or vulnerable person at risk", WatchlistCategory.MISSING_VULNERABLE),
        (WatchlistCategory.MAPPA, WatchlistCategory.MAPPA),
    ],
)
def test_parse_category_accepts_the_five(text: str, expected: WatchlistCategory) -> None:
    assert parse_category(text) is expected


@pytest.mark.parametrize(
    "text",
    ["intelligence interest", "intelligence_interest", "other", "", "  ", "wanted", "mapp", "any"],
)
def test_parse_category_refuses_everything_else(text: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_category(text)
    assert caught.value.rule == "R1"
    message = str(caught.value)
    assert "no catch-all" in message
    assert "Bridges v CC South Wales [2020] EWCA Civ 1058" in message
