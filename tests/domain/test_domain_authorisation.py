"""R5, R6, R7: authorisation checks, ranks and the running window."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from openlfr.domain.authorisation import (
    AuthorisationRequest,
    DraftRequest,
    FieldViolation,
    check_authorisation,
    check_draft,
    deployment_may_run,
    seconds_until_end,
)
from openlfr.domain.policy import GovernanceSettings
from openlfr.domain.ranks import Rank, parse_rank
from openlfr.errors import RuleViolation

NOW = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)
POLICY = GovernanceSettings()
SFACE_FLOOR = POLICY.threshold_floors["sface"]

VALID = AuthorisationRequest(
    officer_name="A. Officer",
    rank=Rank.SUPERINTENDENT,
    purpose="locate people wanted on warrant for serious violence",
    location="Queen Street, Cardiff",
    location_reason="intelligence places three wanted people in the area on match days",
    start=START,
    end=START + timedelta(hours=8),
    cameras=["van-1-north", "van-1-south"],
    watchlist_id="wl-2025-06-01",
    watchlist_size_by_category={"wanted_by_courts": 40, "suspect": 12, "mappa": 0},
    watchlist_hash="ab" * 32,
    threshold=0.45,
    model_name="sface",
    equality_note="considered NPL 2023 results; threshold above equitable point",
    reasons="three people wanted for violence were seen here on the last two match days",
)


def rules_broken(req: AuthorisationRequest, policy: GovernanceSettings = POLICY) -> list[str]:
    return sorted(v.rule for v in check_authorisation(req, policy=policy, now=NOW))


def test_valid_request_passes() -> None:
    assert check_authorisation(VALID, policy=POLICY, now=NOW) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        # R5: who
        ({"officer_name": " "}, ["R5"]),
        ({"rank": Rank.CHIEF_INSPECTOR}, ["R5"]),
        ({"rank": Rank.CONSTABLE}, ["R5"]),
        ({"rank": Rank.SUPERINTENDENT}, []),  # exactly the minimum
        ({"rank": Rank.CHIEF_CONSTABLE}, []),
        ({"rank": Rank.COMMANDER}, []),
        # R5: why and where
        ({"purpose": ""}, ["R5"]),
        ({"location": "  "}, ["R5"]),
        ({"location_reason": ""}, ["R5"]),
        ({"equality_note": ""}, ["R5"]),
        ({"reasons": " \n"}, ["R5"]),
        ({"purpose": "", "location": ""}, ["R5", "R5"]),
        # R5: cameras
        ({"cameras": []}, ["R5"]),
        ({"cameras": ["van-1", " "]}, ["R5"]),
        ({"cameras": ["van-1", "van-1"]}, ["R5"]),
        ({"cameras": ["van-1"]}, []),
        # R5: when
        ({"end": START}, ["R5"]),
        ({"end": START - timedelta(minutes=1)}, ["R5"]),
        ({"end": START + timedelta(hours=12)}, []),  # exactly the maximum
        ({"end": START + timedelta(hours=12, seconds=1)}, ["R5"]),
        ({"start": NOW - timedelta(hours=2), "end": NOW}, ["R5"]),  # ends exactly now
        ({"start": NOW - timedelta(hours=2), "end": NOW + timedelta(seconds=1)}, []),
        ({"start": NOW - timedelta(hours=9), "end": NOW - timedelta(hours=1)}, ["R5"]),
        ({"start": START.replace(tzinfo=None)}, ["R5"]),
        ({"end": (START + timedelta(hours=1)).replace(tzinfo=None)}, ["R5"]),
        # other zones compare by instant: 8 h window written in UTC+2
        (
            {"end": (START + timedelta(hours=8)).astimezone(timezone(timedelta(hours=2)))},
            [],
        ),
        # R6: watchlist snapshot
        ({"watchlist_id": ""}, ["R6"]),
        ({"watchlist_hash": ""}, ["R6"]),
        ({"watchlist_hash": "ab" * 31}, ["R6"]),
        ({"watchlist_hash": "zz" * 32}, ["R6"]),
        ({"watchlist_hash": "AB" * 32}, []),
        ({"watchlist_size_by_category": {}}, ["R6"]),
        ({"watchlist_size_by_category": {"suspect": 0, "mappa": 0}}, ["R6"]),
        ({"watchlist_size_by_category": {"suspect": 1}}, []),
        ({"watchlist_size_by_category": {"suspect": 3, "mappa": -1}}, ["R6"]),
        # R1 through the snapshot's categories
        ({"watchlist_size_by_category": {"suspect": 3, "intelligence_interest": 5}}, ["R1"]),
        # R7: threshold floor
        ({"threshold": SFACE_FLOOR}, []),  # exactly at the floor
        ({"threshold": SFACE_FLOOR - 1e-9}, ["R7"]),
        ({"threshold": 0.1}, ["R7"]),
        ({"threshold": 1.0}, []),
        ({"threshold": 1.01}, ["R7"]),
        ({"threshold": float("nan")}, ["R7"]),
        ({"model_name": "SFace "}, []),
        ({"model_name": "arcface"}, ["R7"]),
        ({"model_name": "dlib", "threshold": 0.45}, ["R7"]),
        ({"model_name": "dlib", "threshold": POLICY.threshold_floors["dlib"]}, []),
    ],
)
def test_check_authorisation(changes: dict[str, Any], expected: list[str]) -> None:
    assert rules_broken(replace(VALID, **changes)) == expected


@pytest.mark.parametrize(
    ("min_rank", "rank", "ok"),
    [
        (Rank.INSPECTOR, Rank.INSPECTOR, True),
        (Rank.INSPECTOR, Rank.SERGEANT, False),
        (Rank.CHIEF_SUPERINTENDENT, Rank.SUPERINTENDENT, False),
        (Rank.CHIEF_SUPERINTENDENT, Rank.CHIEF_SUPERINTENDENT, True),
        (Rank.ASSISTANT_CHIEF_CONSTABLE, Rank.COMMANDER, True),
        (Rank.CHIEF_CONSTABLE, Rank.ASSISTANT_COMMISSIONER, True),
        (Rank.CHIEF_CONSTABLE, Rank.DEPUTY_ASSISTANT_COMMISSIONER, False),
    ],
)
def test_min_rank_is_policy(min_rank: Rank, rank: Rank, ok: bool) -> None:
    policy = GovernanceSettings(min_rank=min_rank)
    assert (rules_broken(replace(VALID, rank=rank), policy) == []) is ok


@pytest.mark.parametrize(("hours", "ok"), [(4.0, True), (4.5, False)])
def test_max_duration_is_policy(hours: float, ok: bool) -> None:
    policy = GovernanceSettings(max_duration_hours=4)
    req = replace(VALID, end=START + timedelta(hours=hours))
    assert (rules_broken(req, policy) == []) is ok


def test_threshold_floor_is_policy() -> None:
    policy = GovernanceSettings(threshold_floors={"sface": 0.5})
    assert rules_broken(VALID, policy) == ["R7"]
    assert rules_broken(replace(VALID, threshold=0.5), policy) == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"rank": Rank.INSPECTOR}, "rank inspector is below the minimum (superintendent)"),
        ({"threshold": 0.3}, "below the calibrated floor"),
        ({"equality_note": ""}, "equality-impact note"),
        ({"end": START + timedelta(hours=13)}, "longer than the 12 h maximum"),
    ],
)
def test_violation_messages_cite_rule(changes: dict[str, Any], fragment: str) -> None:
    (violation,) = check_authorisation(replace(VALID, **changes), policy=POLICY, now=NOW)
    assert fragment in str(violation)
    assert f"({violation.rule}; " in str(violation)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        check_authorisation(VALID, policy=POLICY, now=NOW.replace(tzinfo=None))


def test_request_freezes_its_lists() -> None:
    cameras = ["van-1"]
    sizes = {"suspect": 2}
    req = replace(VALID, cameras=cameras, watchlist_size_by_category=sizes)
    cameras.append("van-2")
    sizes["mappa"] = 9
    assert tuple(req.cameras) == ("van-1",)
    assert dict(req.watchlist_size_by_category) == {"suspect": 2}
    assert req.watchlist_size == 2
    with pytest.raises(TypeError):
        req.watchlist_size_by_category["suspect"] = 5  # type: ignore[index]


END = VALID.end


@pytest.mark.parametrize(
    ("now", "runs", "seconds"),
    [
        (START - timedelta(seconds=1), False, 8 * 3600 + 1),
        (START, True, 8 * 3600),
        (END - timedelta(seconds=1), True, 1),
        (END, False, 0),
        (END + timedelta(hours=1), False, 0),
    ],
)
def test_window(now: datetime, runs: bool, seconds: float) -> None:
    assert deployment_may_run(VALID, now) is runs
    assert seconds_until_end(VALID, now) == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("constable", Rank.CONSTABLE),
        ("PC", Rank.CONSTABLE),
        ("Sgt", Rank.SERGEANT),
        ("Chief Inspector", Rank.CHIEF_INSPECTOR),
        ("superintendent", Rank.SUPERINTENDENT),
        ("Supt.", Rank.SUPERINTENDENT),
        ("Detective Superintendent", Rank.SUPERINTENDENT),
        ("Det. Ch. Supt", Rank.CHIEF_SUPERINTENDENT),
        ("chief-superintendent", Rank.CHIEF_SUPERINTENDENT),
        ("ACC", Rank.ASSISTANT_CHIEF_CONSTABLE),
        ("Commander", Rank.ASSISTANT_CHIEF_CONSTABLE),
        ("Deputy Assistant Commissioner", Rank.DEPUTY_CHIEF_CONSTABLE),
        ("assistant commissioner", Rank.CHIEF_CONSTABLE),
        ("Deputy Commissioner", Rank.DEPUTY_COMMISSIONER),
        ("Commissioner", Rank.COMMISSIONER),
        (5, Rank.SUPERINTENDENT),
    ],
)
def test_parse_rank(text: str | int, expected: Rank) -> None:
    assert parse_rank(text) is expected


def test_rank_order() -> None:
    ordered = [
        Rank.CONSTABLE,
        Rank.SERGEANT,
        Rank.INSPECTOR,
        Rank.CHIEF_INSPECTOR,
        Rank.SUPERINTENDENT,
        Rank.CHIEF_SUPERINTENDENT,
        Rank.ASSISTANT_CHIEF_CONSTABLE,
        Rank.DEPUTY_CHIEF_CONSTABLE,
        Rank.CHIEF_CONSTABLE,
        Rank.DEPUTY_COMMISSIONER,
        Rank.COMMISSIONER,
    ]
    assert ordered == sorted(ordered) and len(set(ordered)) == len(ordered)


@pytest.mark.parametrize("text", ["", "special constable", "general", "superintendant", 0, 12])
def test_parse_rank_refuses_unknown(text: str | int) -> None:
    with pytest.raises(RuleViolation) as caught:
        parse_rank(text)
    assert caught.value.rule == "R5"


DRAFT = DraftRequest(
    purpose=VALID.purpose,
    location=VALID.location,
    location_reason=VALID.location_reason,
    start=VALID.start,
    end=VALID.end,
    cameras=VALID.cameras,
    watchlist_id=VALID.watchlist_id,
    watchlist_size_by_category=VALID.watchlist_size_by_category,
    watchlist_hash=VALID.watchlist_hash,
    threshold=VALID.threshold,
    model_name=VALID.model_name,
)


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({}, None, None),
        ({"purpose": "   "}, "purpose", "purpose is not stated"),
        ({"location": ""}, "location", "location is not stated"),
        ({"location_reason": "\t"}, "location_reason", "reason for choosing the location"),
        ({"cameras": []}, "cameras", "no camera"),
        ({"threshold": 0.3}, "threshold", "below the calibrated floor"),
        ({"threshold": 5.0}, "threshold", "not a cosine similarity"),
        ({"threshold": SFACE_FLOOR}, None, None),
        ({"threshold": 1.0}, None, None),
        ({"end": START + timedelta(hours=744)}, "end", "744 h, longer than the 12 h maximum"),
        ({"start": NOW - timedelta(hours=3), "end": NOW - timedelta(hours=1)}, "end", "past"),
        ({"watchlist_size_by_category": {"suspect": 0}}, "watchlist_id", "watchlist is empty"),
        ({"start": START.replace(tzinfo=None)}, "start", "time zone"),
    ],
)
def test_check_draft_names_the_field(
    changes: dict[str, Any], field: str | None, fragment: str | None
) -> None:
    found = check_draft(replace(DRAFT, **changes), policy=POLICY, now=NOW)
    if field is None:
        assert found == []
        return
    (violation,) = found
    assert isinstance(violation, FieldViolation) and violation.field == field
    assert fragment is not None and fragment in str(violation)


def test_draft_leaves_the_officers_part_to_the_officer() -> None:
    # No officer, rank, reasons or equality note in a draft: those are the authoriser's.
    assert check_draft(DRAFT, policy=POLICY, now=NOW) == []
    broken = check_authorisation(
        replace(VALID, reasons="", equality_note=""), policy=POLICY, now=NOW
    )
    assert sorted(getattr(v, "field", None) for v in broken) == ["equality_note", "reasons"]


def test_draft_and_authorisation_apply_the_same_rules() -> None:
    """A draft refused for a reason is refused at authorisation for that same reason."""
    for changes in ({"threshold": 0.3}, {"end": START + timedelta(hours=13)}, {"cameras": []}):
        drafted = [str(v) for v in check_draft(replace(DRAFT, **changes), policy=POLICY, now=NOW)]
        authorised = [
            str(v) for v in check_authorisation(replace(VALID, **changes), policy=POLICY, now=NOW)
        ]
        assert drafted == authorised != []
