"""R2, R3, R4, R11 and image choice: one row per case, boundaries included."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from openlfr.domain.eligibility import (
    CaseOutcome,
    ImageCandidate,
    ImageFacts,
    assess_image,
    outcome_withdraws_images,
    parse_outcome,
    prefer_newest,
)
from openlfr.domain.policy import GovernanceSettings
from openlfr.errors import RuleViolation

TODAY = date(2025, 6, 1)
POLICY = GovernanceSettings()

BASE = ImageFacts(
    source_ref="custody/2024/0042",
    lawful_basis="PACE s64A; DPA 2018 s35",
    case_outcome=CaseOutcome.CHARGED,
    captured_on=date(2025, 1, 10),
    age_at_capture=30,
)
APPROVED: dict[str, Any] = {
    "exceptional_reason": "risk of serious harm to a named child",
    "exceptional_requested_by": "DC Smith",
    "exceptional_approved_by": "DS Jones",
    "exceptional_approver_role": "supervisor",
}
OUT = CaseOutcome


@pytest.mark.parametrize(
    ("changes", "eligible", "rule"),
    [
        # R2: source and lawful basis
        ({}, True, None),
        ({"source_ref": ""}, False, "R2"),
        ({"source_ref": "   "}, False, "R2"),
        ({"lawful_basis": ""}, False, "R2"),
        ({"lawful_basis": "\t"}, False, "R2"),
        ({"captured_on": TODAY + timedelta(days=1)}, False, "R2"),
        ({"captured_on": TODAY}, True, None),
        ({"captured_on": None}, True, None),
        # R2 is reported before R3 and R4
        ({"source_ref": "", "case_outcome": OUT.ACQUITTED, "age_at_capture": 15}, False, "R2"),
        # R3: outcomes that keep the image in use
        ({"case_outcome": OUT.PENDING}, True, None),
        ({"case_outcome": OUT.CHARGED}, True, None),
        ({"case_outcome": OUT.CONVICTED}, True, None),
        ({"case_outcome": OUT.CAUTIONED}, True, None),
        # R3: not convicted, no exception
        ({"case_outcome": OUT.NO_FURTHER_ACTION}, False, "R3"),
        ({"case_outcome": OUT.ACQUITTED}, False, "R3"),
        ({"case_outcome": OUT.DISCONTINUED}, False, "R3"),
        # R3: properly approved exception
        ({"case_outcome": OUT.NO_FURTHER_ACTION, **APPROVED}, True, None),
        ({"case_outcome": OUT.ACQUITTED, **APPROVED}, True, None),
        (
            {
                "case_outcome": OUT.DISCONTINUED,
                **APPROVED,
                "exceptional_approver_role": " Supervisor ",
            },
            True,
            None,
        ),
        # R3: broken exceptions
        ({"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_reason": " "}, False, "R3"),
        ({"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approved_by": None}, False, "R3"),
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_requested_by": None},
            False,
            "R3",
        ),
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approver_role": "operator"},
            False,
            "R3",
        ),
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approver_role": "admin"},
            False,
            "R3",
        ),
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approver_role": None},
            False,
            "R3",
        ),
        # supervisor who is also the requester (case and spaces do not disguise it)
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approved_by": "DC Smith"},
            False,
            "R3",
        ),
        (
            {"case_outcome": OUT.ACQUITTED, **APPROVED, "exceptional_approved_by": " dc smith "},
            False,
            "R3",
        ),
        # R4: boundary at 18
        ({"age_at_capture": 17}, False, "R4"),
        ({"age_at_capture": 18}, True, None),
        ({"age_at_capture": 0}, False, "R4"),
        (
            {"age_at_capture": 17, "under18_reason": "missing child at risk of exploitation"},
            True,
            None,
        ),
        ({"age_at_capture": 17, "under18_reason": "  "}, False, "R4"),
        ({"age_at_capture": None}, False, "R4"),
        ({"age_at_capture": None, "under18_reason": "age unknown; adult per officer"}, True, None),
        # R3 reported before R4
        ({"age_at_capture": 16, "case_outcome": OUT.NO_FURTHER_ACTION}, False, "R3"),
        ({"age_at_capture": 16, "case_outcome": OUT.NO_FURTHER_ACTION, **APPROVED}, False, "R4"),
    ],
)
def test_assess_image(changes: dict[str, Any], eligible: bool, rule: str | None) -> None:
    decision = assess_image(replace(BASE, **changes), today=TODAY, policy=POLICY)
    assert (decision.eligible, decision.rule) == (eligible, rule)
    if rule is not None:
        assert f"({rule}; " in decision.reason


@pytest.mark.parametrize(("age", "eligible"), [(17, True), (None, True), (18, True)])
def test_under18_rule_can_be_turned_off(age: int | None, eligible: bool) -> None:
    policy = GovernanceSettings(under18_requires_reason=False)
    decision = assess_image(replace(BASE, age_at_capture=age), today=TODAY, policy=policy)
    assert decision.eligible is eligible
    assert assess_image(replace(BASE, age_at_capture=17), today=TODAY, policy=POLICY).rule == "R4"


def test_nfa_refusal_message_is_fit_to_show() -> None:
    facts = replace(BASE, case_outcome=CaseOutcome.NO_FURTHER_ACTION)
    reason = assess_image(facts, today=TODAY, policy=POLICY).reason
    assert reason.startswith("case outcome 'no further action' — custody images of people who were")
    assert "approved exceptional reason" in reason
    assert reason.endswith("(R3; RMC & FJ v MPC [2012] EWHC 1681)")


@pytest.mark.parametrize(
    ("approved_by", "role", "fragment"),
    [
        ("DC Smith", "supervisor", "same person who asked"),
        ("PC Brown", "operator", "without the supervisor role"),
        (None, "supervisor", "not been approved"),
    ],
)
def test_r3_refusal_says_what_is_wrong(approved_by: str | None, role: str, fragment: str) -> None:
    facts = replace(
        BASE,
        case_outcome=CaseOutcome.ACQUITTED,
        **{**APPROVED, "exceptional_approved_by": approved_by, "exceptional_approver_role": role},
    )
    assert fragment in assess_image(facts, today=TODAY, policy=POLICY).reason


@pytest.mark.parametrize(
    ("age_days", "warned"),
    [(0, False), (POLICY.max_image_age_days, False), (POLICY.max_image_age_days + 1, True)],
)
def test_old_image_warns_but_stays_eligible(age_days: int, warned: bool) -> None:
    facts = replace(BASE, captured_on=TODAY - timedelta(days=age_days))
    decision = assess_image(facts, today=TODAY, policy=POLICY)
    assert decision.eligible
    assert any("days old" in w for w in decision.warnings) is warned


def test_missing_capture_date_warns() -> None:
    decision = assess_image(replace(BASE, captured_on=None), today=TODAY, policy=POLICY)
    assert any("capture date not recorded" in w for w in decision.warnings)


def test_exception_use_is_visible_in_warnings() -> None:
    facts = replace(BASE, case_outcome=CaseOutcome.ACQUITTED, **APPROVED)
    decision = assess_image(facts, today=TODAY, policy=POLICY)
    assert decision.eligible
    assert any("DS Jones" in w for w in decision.warnings)


def test_raise_if_ineligible() -> None:
    assess_image(BASE, today=TODAY, policy=POLICY).raise_if_ineligible()
    refused = assess_image(replace(BASE, age_at_capture=12), today=TODAY, policy=POLICY)
    with pytest.raises(RuleViolation) as caught:
        refused.raise_if_ineligible()
    assert caught.value.rule == "R4"


def test_negative_age_is_a_broken_record() -> None:
    with pytest.raises(ValueError, match="negative"):
        replace(BASE, age_at_capture=-1)


D = date


@pytest.mark.parametrize(
    ("images", "expected_id"),
    [
        ([], None),
        ([ImageCandidate(1, D(2024, 1, 1), False)], None),
        ([ImageCandidate(1, D(2020, 1, 1), True), ImageCandidate(2, D(2024, 1, 1), True)], 2),
        ([ImageCandidate(5, D(2024, 1, 1), True), ImageCandidate(2, D(2020, 1, 1), True)], 5),
        # the newest is ineligible: the newest eligible one wins
        ([ImageCandidate(1, D(2020, 1, 1), True), ImageCandidate(2, D(2024, 1, 1), False)], 1),
        # same day: higher id
        ([ImageCandidate(7, D(2024, 1, 1), True), ImageCandidate(3, D(2024, 1, 1), True)], 7),
        ([ImageCandidate(3, D(2024, 1, 1), True), ImageCandidate(7, D(2024, 1, 1), True)], 7),
        # undated ranks below any dated image
        ([ImageCandidate(9, None, True), ImageCandidate(1, D(1999, 1, 1), True)], 1),
        ([ImageCandidate(9, None, True), ImageCandidate(4, None, True)], 9),
    ],
)
def test_prefer_newest(images: list[ImageCandidate], expected_id: int | None) -> None:
    chosen = prefer_newest(images)
    assert (chosen.image_id if chosen else None) == expected_id


@pytest.mark.parametrize(
    ("old", "new", "withdraws"),
    [
        (OUT.CHARGED, OUT.NO_FURTHER_ACTION, True),
        (OUT.PENDING, OUT.ACQUITTED, True),
        (OUT.CHARGED, OUT.DISCONTINUED, True),
        (OUT.CONVICTED, OUT.ACQUITTED, True),  # quashed on appeal
        (None, OUT.NO_FURTHER_ACTION, True),
        (OUT.PENDING, OUT.CHARGED, False),
        (OUT.CHARGED, OUT.CONVICTED, False),
        (OUT.PENDING, OUT.CAUTIONED, False),
        (None, OUT.PENDING, False),
        (OUT.NO_FURTHER_ACTION, OUT.NO_FURTHER_ACTION, False),
        (OUT.NO_FURTHER_ACTION, OUT.ACQUITTED, False),  # already withdrawn
        (OUT.ACQUITTED, OUT.CONVICTED, False),  # retrial: reassessed, not auto-restored here
    ],
)
def test_outcome_withdraws_images(
    old: CaseOutcome | None, new: CaseOutcome, withdraws: bool
) -> None:
    assert outcome_withdraws_images(old, new) is withdraws


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NFA", OUT.NO_FURTHER_ACTION),
        ("no further action", OUT.NO_FURTHER_ACTION),
        ("No-Further-Action", OUT.NO_FURTHER_ACTION),
        ("acquitted", OUT.ACQUITTED),
        (" Cautioned ", OUT.CAUTIONED),
    ],
)
def test_parse_outcome(text: str, expected: CaseOutcome) -> None:
    assert parse_outcome(text) is expected


@pytest.mark.parametrize("text", ["", "guilty", "released", "nfa pending"])
def test_parse_outcome_refuses_unknown(text: str) -> None:
    with pytest.raises(ValueError, match="not one of"):
        parse_outcome(text)
