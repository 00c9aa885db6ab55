"""R6 / R16: the watchlist member hash and size by category."""

from __future__ import annotations

import pytest

from openlfr.domain.categories import WatchlistCategory
from openlfr.domain.watchlist_hash import Entry, member_hash, size_by_category
from openlfr.errors import RuleViolation

A = "a" * 64
B = "b" * 64
C = "c" * 64
BASE: list[Entry] = [("S1", A, "suspect"), ("S2", B, "mappa"), ("S1", C, "suspect")]


def test_hash_is_pinned() -> None:
    # Pinned so a change to the canonical form (which would orphan every recorded hash) fails here.
    assert member_hash(BASE) == member_hash(list(reversed(BASE)))
    assert member_hash([]) != member_hash(BASE)
    assert len(member_hash(BASE)) == 64
    assert member_hash(BASE) == PINNED


PINNED = "51ab7e01eedae0bb990294f33dfb42f47a9d8b6178fd08cd52e3e6b1bba78177"


@pytest.mark.parametrize(
    "variant",
    [
        [("S1", A, "suspect"), ("S2", B, "mappa")],  # member removed
        [*BASE, ("S3", A, "mappa")],  # member added
        [("S1", A, "suspect"), ("S2", B, "wanted_by_courts"), ("S1", C, "suspect")],  # category
        [("S1", A, "suspect"), ("S9", B, "mappa"), ("S1", C, "suspect")],  # subject
        [("S1", A, "suspect"), ("S2", "d" * 64, "mappa"), ("S1", C, "suspect")],  # image
    ],
)
def test_any_change_changes_the_hash(variant: list[Entry]) -> None:
    assert member_hash(variant) != member_hash(BASE)


@pytest.mark.parametrize(
    "equivalent",
    [
        [("S2", B, "mappa"), ("S1", C, "suspect"), ("S1", A, "suspect")],
        [(" S1 ", A.upper(), "Suspect"), ("S2", B, WatchlistCategory.MAPPA), ("S1", C, "suspect")],
    ],
)
def test_canonical_forms_hash_alike(equivalent: list[Entry]) -> None:
    assert member_hash(equivalent) == member_hash(BASE)


def test_separator_in_a_reference_cannot_forge_another_list() -> None:
    assert member_hash([("S1,x", A, "suspect")]) != member_hash([("S1", A, "suspect")])


@pytest.mark.parametrize(
    ("entries", "rule"),
    [
        ([("S1", A, "intelligence interest")], "R1"),
        ([("", A, "suspect")], "R6"),
        ([("S1", "abc", "suspect")], "R6"),
        ([("S1", "g" * 64, "suspect")], "R6"),
        ([("S1", A, "suspect"), ("S1", A, "suspect")], "R6"),
        ([("S1", A, "suspect"), ("S1", A.upper(), "mappa")], "R6"),
    ],
)
def test_bad_entries_are_refused(entries: list[Entry], rule: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        member_hash(entries)
    assert caught.value.rule == rule


def test_size_by_category_counts_subjects_not_images() -> None:
    assert size_by_category(BASE) == {
        "wanted_by_courts": 0,
        "suspect": 1,
        "court_conditions": 0,
        "mappa": 1,
        "missing_vulnerable": 0,
    }
    assert size_by_category([]) == dict.fromkeys([c.value for c in WatchlistCategory], 0)
