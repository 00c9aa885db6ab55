"""R9, R10, R11, R12 due dates, the purge plan, and the policy's own limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from openlfr.domain.eligibility import CaseOutcome
from openlfr.domain.policy import GovernanceSettings
from openlfr.domain.ranks import Rank
from openlfr.domain.retention import (
    AlertRecord,
    ImageRecord,
    PurgeItem,
    WatchlistRecord,
    alert_purge_due,
    audit_retention_floor,
    deployment_holds_watchlist,
    plan_purge,
    watchlist_purge_due,
)

T0 = datetime(2025, 3, 1, 18, 0, tzinfo=UTC)
POLICY = GovernanceSettings()
H = timedelta(hours=1)
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("hours", "due"),
    [(None, T0 + 24 * H), (0, T0), (6, T0 + 6 * H)],
)
def test_watchlist_purge_due(hours: float | None, due: datetime) -> None:
    policy = POLICY if hours is None else GovernanceSettings(watchlist_purge_hours=hours)
    assert watchlist_purge_due(T0, policy) == due


@pytest.mark.parametrize(
    ("days", "linked", "due"),
    [
        (None, False, T0 + 31 * D),
        (None, True, None),
        (7, False, T0 + 7 * D),
        (7, True, None),
    ],
)
def test_alert_purge_due(days: int | None, linked: bool, due: datetime | None) -> None:
    policy = POLICY if days is None else GovernanceSettings(alert_retention_days=days)
    assert alert_purge_due(T0, policy, linked) == due


@pytest.mark.parametrize(("days", "floor"), [(None, 183 * D), (400, 400 * D)])
def test_audit_retention_floor(days: int | None, floor: timedelta) -> None:
    policy = POLICY if days is None else GovernanceSettings(audit_retention_days=days)
    assert audit_retention_floor(policy) == floor


def test_due_dates_refuse_naive_times() -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(ValueError):
        watchlist_purge_due(naive, POLICY)
    with pytest.raises(ValueError):
        alert_purge_due(naive, POLICY, False)
    with pytest.raises(ValueError):
        plan_purge(now=naive, policy=POLICY)


def test_plan_purge() -> None:
    now = T0 + 40 * D
    plan = plan_purge(
        now=now,
        policy=POLICY,
        watchlists=[
            WatchlistRecord("wl-due-exactly", "dep-1", now - 24 * H),
            WatchlistRecord("wl-old", "dep-0", now - 48 * H),
            WatchlistRecord("wl-not-yet", "dep-2", now - 23 * H),
            WatchlistRecord("wl-live", "dep-3", None),
            WatchlistRecord("wl-done", "dep-4", now - 72 * H, purged_at=now - 48 * H),
        ],
        alerts=[
            AlertRecord("al-due", now - 31 * D, False),
            AlertRecord("al-young", now - 30 * D, False),
            AlertRecord("al-linked", now - 39 * D, True),
            AlertRecord("al-done", now - 39 * D, False, purged_at=now - D),
        ],
        images=[
            ImageRecord("img-nfa", "S1", CaseOutcome.NO_FURTHER_ACTION),
            ImageRecord("img-acq", "S2", CaseOutcome.ACQUITTED),
            ImageRecord("img-disc-withdrawn", "S3", CaseOutcome.DISCONTINUED, withdrawn=True),
            ImageRecord("img-exc", "S4", CaseOutcome.ACQUITTED, exception_approved=True),
            ImageRecord("img-charged", "S5", CaseOutcome.CHARGED),
        ],
    )
    assert plan.watchlists == (
        PurgeItem("wl-old", now - 24 * H),
        PurgeItem("wl-due-exactly", now),
    )
    assert plan.alerts == (PurgeItem("al-due", now),)
    assert plan.images_to_withdraw == ("img-acq", "img-nfa")
    assert plan.next_due == now + H  # wl-not-yet; al-young is due in one day
    assert not plan.empty


def test_empty_plan() -> None:
    plan = plan_purge(now=T0, policy=POLICY)
    assert plan.empty
    assert plan.next_due is None


def test_linked_alert_is_never_due() -> None:
    plan = plan_purge(
        now=T0 + 3650 * D, policy=POLICY, alerts=[AlertRecord("al", T0, linked_to_outcome=True)]
    )
    assert plan.alerts == () and plan.next_due is None


@pytest.mark.parametrize(
    ("fields", "ok"),
    [
        ({}, True),
        ({"audit_retention_days": 183}, True),
        ({"audit_retention_days": 182}, False),
        ({"audit_retention_days": 30}, False),
        ({"watchlist_purge_hours": 24}, True),
        ({"watchlist_purge_hours": 24.5}, False),
        ({"watchlist_purge_hours": -1}, False),
        ({"min_rank": Rank.INSPECTOR}, True),
        ({"min_rank": Rank.SERGEANT}, False),
        ({"min_rank": "constable"}, False),
        ({"max_duration_hours": 0}, False),
        ({"threshold_floors": {}}, False),
        ({"threshold_floors": {"sface": 1.5}}, False),
        ({"threshold_floors": {"sface": float("nan")}}, False),
        ({"threshold_floors": {" ": 0.4}}, False),
        ({"alert_retention_days": -1}, False),
        ({"max_image_age_days": 0}, False),
        ({"catch_all": True}, False),  # extra="forbid"
    ],
)
def test_policy_limits(fields: dict[str, Any], ok: bool) -> None:
    if ok:
        GovernanceSettings(**fields)
    else:
        with pytest.raises(ValidationError):
            GovernanceSettings(**fields)


def test_audit_minimum_message_names_the_law() -> None:
    with pytest.raises(ValidationError, match="Art 26"):
        GovernanceSettings(audit_retention_days=100)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Supt", Rank.SUPERINTENDENT),
        ("chief superintendent", Rank.CHIEF_SUPERINTENDENT),
        ("6", Rank.CHIEF_SUPERINTENDENT),
    ],
)
def test_policy_rank_from_text(value: str, expected: Rank) -> None:
    assert GovernanceSettings.model_validate({"min_rank": value}).min_rank is expected


def test_policy_floors_are_case_insensitive_and_frozen() -> None:
    policy = GovernanceSettings(threshold_floors={"SFace": 0.5})
    assert policy.threshold_floor("sface") == 0.5
    assert policy.threshold_floor("dlib") is None
    with pytest.raises(ValidationError):
        policy.max_duration_hours = 100  # type: ignore[misc]


def test_every_policy_field_explains_itself() -> None:
    for name, field in GovernanceSettings.model_fields.items():
        assert field.description and len(field.description) > 40, name


@pytest.mark.parametrize(
    ("status", "holds"),
    [
        ("authorised", True),
        ("live", True),
        ("ended", True),
        ("Ended ", True),
        ("draft", False),
        ("returned", False),
        ("refused", False),
        ("withdrawn", False),
    ],
)
def test_only_an_authorised_deployment_holds_its_watchlist(status: str, holds: bool) -> None:
    assert deployment_holds_watchlist(status) is holds
