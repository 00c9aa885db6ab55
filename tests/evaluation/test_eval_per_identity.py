"""FNIR averaged per identity (issue 12 item 2): every person counts once."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.evaluation.per_identity import identity_rates, per_identity_fnir


@pytest.mark.parametrize(
    ("ids", "events", "expected"),
    [
        (["a", "a", "b"], [1, 0, 1], [0.5, 1.0]),
        (["b", "a", "b", "b"], [0, 1, 0, 0], [1.0, 0.0]),  # sorted by identity, not by order
        (["x"] * 4, [0, 0, 0, 0], [0.0]),
    ],
)
def test_identity_rates(ids: list[str], events: list[int], expected: list[float]) -> None:
    assert identity_rates(ids, np.array(events, bool)).tolist() == expected


def _searches(
    per_person: dict[str, tuple[str, int, int]],
) -> tuple[list[str], np.ndarray, dict[str, str]]:
    """{person: (group, searches, misses)} as the flat arrays `per_identity_fnir` reads."""
    ids: list[str] = []
    miss: list[bool] = []
    for person, (_g, n, k) in per_person.items():
        ids += [person] * n
        miss += [True] * k + [False] * (n - k)
    return ids, np.array(miss), {p: g for p, (g, _n, _k) in per_person.items()}


def test_a_much_searched_person_counts_once() -> None:
    # 40 F and 40 M identities, each missed on 1 search in 4, except that 10 of the M people have
    # 100 searches and are never missed: per search M looks far better (2.9% against 25%), per
    # identity the groups differ only by those 10 people.
    people = {f"f{i}": ("F", 4, 1) for i in range(40)}
    people |= {f"m{i}": ("M", 4, 1) for i in range(30)}
    people |= {f"big{i}": ("M", 100, 0) for i in range(10)}
    ids, miss, groups = _searches(people)
    got = per_identity_fnir(ids, miss, groups, "unknown", resamples=500)
    assert got["groups"]["F"]["fnir"] == pytest.approx(0.25)
    assert got["groups"]["M"]["fnir"] == pytest.approx(30 * 0.25 / 40)
    assert got["groups"]["M"]["identities"] == 40
    per_search_m = miss[[groups[i] == "M" for i in ids]].mean()
    assert per_search_m < 0.03
    (c,) = got["comparisons"]
    assert (c["metric"], c["worse"], c["better"]) == ("fnir_per_identity", "F", "M")
    assert c["ratio"] == pytest.approx(0.25 / (30 * 0.25 / 40))
    lo, hi = got["groups"]["F"]["ci95"]
    assert lo == hi == pytest.approx(0.25)  # every F person has the same rate
    lo, hi = got["groups"]["M"]["ci95"]
    assert lo < got["groups"]["M"]["fnir"] < hi


def test_equal_people_are_no_difference_and_unknown_is_not_compared() -> None:
    people = {f"f{i}": ("F", 3, i % 3) for i in range(30)}
    people |= {f"m{i}": ("M", 6, 2 * (i % 3)) for i in range(30)}
    people |= {"nobody": ("unknown", 5, 5)}
    ids, miss, groups = _searches(people)
    got = per_identity_fnir(ids, miss, groups, "unknown", resamples=500)
    assert got["groups"]["F"]["fnir"] == pytest.approx(got["groups"]["M"]["fnir"])
    # One person, always missed: the exact bound over one identity, not the point [1, 1].
    assert got["groups"]["unknown"]["ci95"] == pytest.approx([0.025, 1.0])
    (c,) = got["comparisons"]
    assert not c["significant"]
    assert got["verdict"] == "no statistically significant difference per identity"


def test_a_real_difference_is_found() -> None:
    people = {f"f{i}": ("F", 4, 2) for i in range(40)}
    people |= {f"m{i}": ("M", 4, 0 if i % 2 else 1) for i in range(40)}
    ids, miss, groups = _searches(people)
    got = per_identity_fnir(ids, miss, groups, "unknown", resamples=500)
    (c,) = got["comparisons"]
    assert c["significant"] and c["ratio"] == pytest.approx(4.0)
    assert got["verdict"].startswith("FNIR PER IDENTITY: F fares worse than M")


def test_one_group_has_nothing_to_compare() -> None:
    ids, miss, groups = _searches({"a": ("F", 2, 1), "b": ("unknown", 2, 0)})
    got = per_identity_fnir(ids, miss, groups, "unknown", resamples=50)
    assert got["comparisons"] == [] and "nothing to compare" in got["verdict"]
