"""Weak references and the second-reference arms (benchmarks/second_reference.py)."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.evaluation import levers as lv
from openlfr.evaluation import weak_references as wr
from openlfr.evaluation.improvements import Outcome, Split
from openlfr.vision.sface import normalise

FLOOR = 0.9


def _one_entry(mated: list[tuple[float, bool]], gallery_ok: bool = True) -> tuple:
    """A half with one entry (flat row 0) and its further images (agreement, face found)."""
    n = len(mated)
    split = Split(np.array([0]), np.arange(1, n + 1), np.array([], np.int64), np.zeros(n, np.int64))
    h = lv.Half(split, np.array(["a"] * (n + 1), dtype=object), np.array([], np.int64))
    agreement = np.array([0.5] + [a for a, _ in mated])
    ok = np.array([gallery_ok] + [o for _, o in mated])
    return h, agreement, ok


@pytest.mark.parametrize(
    ("mated", "gallery_ok", "picked", "strong"),
    [
        ([(0.95, True), (0.97, True)], True, 0, True),  # the first usable strong one
        ([(0.80, True), (0.97, True), (0.99, True)], True, 1, True),  # a weak one is passed over
        ([(0.80, True), (0.85, True)], True, 0, False),  # all weak: the first, marked weak
        ([(0.80, False), (0.97, True), (0.99, True)], True, 1, True),  # no face: not a spare
        ([(0.97, True)], True, None, False),  # one further image: it stays a probe
        ([(0.97, True), (0.98, False)], True, None, False),  # one usable: likewise
        ([(0.97, True), (0.98, True)], False, None, False),  # no face in the reference
    ],
)
def test_spare_images(
    mated: list[tuple[float, bool]], gallery_ok: bool, picked: int | None, strong: bool
) -> None:
    h, agreement, ok = _one_entry(mated, gallery_ok)
    s = wr.spare_images(h, agreement, ok, FLOOR)
    if picked is None:
        assert s.image[0] == -1 and s.probe_kept.all()
    else:
        assert s.image[0] == h.split.mated[picked]
        assert np.flatnonzero(~s.probe_kept).tolist() == [picked]
    assert bool(s.strong[0]) is strong
    rest = wr.without_spares(h, s)
    assert rest.split.mated.size == len(mated) - (picked is not None)
    assert s.image[0] not in rest.split.mated.tolist()


def _two_entries() -> tuple[lv.Half, np.ndarray, np.ndarray]:
    """Entries a (flat 0) and b (flat 1); probes 2, 3 of a and 4, 5 of b; a's spare: 3."""
    rng = np.random.default_rng(5)
    centre = normalise(rng.normal(size=(2, 16)))
    owner = [0, 1, 0, 0, 1, 1]
    v = normalise(centre[owner] + 0.5 * normalise(rng.normal(size=(6, 16))))
    split = Split(np.array([0, 1]), np.array([2, 3, 4, 5]), np.array([], np.int64),
                  np.array([0, 0, 1, 1]))  # fmt: skip
    h = lv.Half(split, np.array(list("abaabb"), dtype=object), np.array([], np.int64))
    return h, v, np.ones(6, bool)


def test_best_of_takes_the_better_reference_only_where_asked() -> None:
    h, v, _ = _two_entries()
    first = lv.Scorer(v, v[h.split.gallery])
    spare = v[[3, 1]]
    second = lv.Scorer(v, spare)
    rows = np.array([2, 4, 5])
    got = wr.best_of(h, first, second, np.array([True, False]))(rows)
    a, b = v[rows] @ v[[0, 1]].T, v[rows] @ spare.T
    assert np.allclose(got[:, 0], np.maximum(a[:, 0], b[:, 0]))
    assert np.allclose(got[:, 1], a[:, 1])  # b has no second reference here
    # The spare as a probe would find itself: best_of reaches 1.0 for it.
    assert np.isclose(wr.best_of(h, first, second, np.array([True, False]))(np.array([3]))[0, 0],
                      1.0)  # fmt: skip


def test_run_scores_with_best_of_never_scores_an_entry_lower() -> None:
    h, v, ok = _two_entries()
    first = lv.Scorer(v, v[h.split.gallery])
    second = lv.Scorer(v, v[[3, 4]])
    one = lv.run(h, first, ok, leave_one_out=True)
    both = lv.run_scores(h, wr.best_of(h, first, second, np.ones(2, bool)), ok, True)
    assert np.all(both.mated_score >= one.mated_score - 1e-12)
    assert both.nonmated_score.size == one.nonmated_score.size == h.split.mated.size


def test_weak_references_counts_and_rates() -> None:
    h, _, _ = _two_entries()
    agreement = np.array([0.5, 0.99, 0, 0, 0, 0])  # entry a weak, b not
    # Mated scores: a's two searches miss one (rank 1 false), b's both hit well above the
    # threshold set by the non-mated scores.
    o = Outcome(np.array([0.9, 0.9, 0.9, 0.9]), np.array([True, False, True, True]),
                np.linspace(0.0, 0.5, 1000))  # fmt: skip
    res = wr.weak_references(h, agreement, o, FLOOR, {"a": "F", "b": "M"})
    assert res["weak_references"] == 1 and res["references"] == 2
    assert res["share_of_misses"] == 1.0
    assert res["by_group"]["all"]["fnir_weak"] == 0.5 and res["by_group"]["all"]["fnir_rest"] == 0
    assert res["by_group"]["F"]["weak_searches"] == 2 and res["by_group"]["M"]["fnir_weak"] is None
    assert res["by_group"]["all"]["fnir"] == 0.25


def test_weak_probes_split_the_searches_by_their_probe_image() -> None:
    h, _, _ = _two_entries()
    agreement = np.array([0.99, 0.99, 0.5, 0.99, 0.99, 0.5])  # probes 2 (a) and 5 (b) weak
    o = Outcome(np.full(4, 0.9), np.array([False, True, True, False]),
                np.linspace(0.0, 0.5, 1000))  # fmt: skip
    res = wr.weak_probes(h, agreement, o, FLOOR, {"a": "F", "b": "M"})
    assert res["share_of_misses"] == 1.0  # both misses are on weak probes
    assert res["by_group"]["all"] == {"searches": 4, "weak_searches": 2, "fnir": 0.5,
                                      "fnir_weak": 1.0, "fnir_rest": 0.0}  # fmt: skip
    assert res["by_group"]["F"]["weak_searches"] == 1 and res["by_group"]["M"]["fnir_weak"] == 1.0
