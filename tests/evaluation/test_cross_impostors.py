"""Impostors from the other half (benchmarks/group_fpir.py): which images are taken, and that
their top-1 scores join the half's own non-mated searches under the same threshold."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.evaluation import levers as lv
from openlfr.evaluation.cross_impostors import other_half_rows, with_impostors
from openlfr.evaluation.improvements import Split


def _names(half: int, n: int) -> list[str]:
    out, i = [], 0
    while len(out) < n:
        name = f"Person_{i}"
        if lv.half_of(name) == half:
            out.append(name)
        i += 1
    return out


@pytest.fixture
def half() -> tuple[lv.Half, np.ndarray, np.ndarray]:
    """REPORT: A and B enrolled (rows 0, 1), their probes (2, 3), one-image C (4). TUNE: D's
    three images (5, 6, 7; row 5 is REPORT's cohort face) and E's one image (8, no face)."""
    a, b, c = _names(lv.REPORT, 3)
    d, e = _names(lv.TUNE, 2)
    ids = np.array([a, b, a, b, c, d, d, d, e], dtype=object)
    split = Split(np.array([0, 1]), np.array([2, 3]), np.array([4]), np.array([0, 1]))
    h = lv.Half(split, ids, cohort=np.array([5]))
    ok = np.array([True] * 8 + [False])
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(9, 8))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return h, ok, vecs


def test_the_other_halfs_images_with_a_face_less_the_cohort(half: tuple) -> None:
    h, ok, _ = half
    assert other_half_rows(h, ok, lv.REPORT).tolist() == [6, 7]
    assert other_half_rows(h, np.ones(9, bool), lv.REPORT).tolist() == [6, 7, 8]


def test_impostor_searches_are_appended_with_their_identities(half: tuple) -> None:
    h, ok, vecs = half
    sc = lv.Scorer(vecs, vecs[h.split.gallery])
    rows = lambda r: lv.scores(h, sc, r, None)  # noqa: E731
    own = lv.run_scores(h, rows, ok, leave_one_out=True)
    wide, ids = with_impostors(h, rows, ok, np.array([6, 7]))
    n = own.nonmated_score.size
    assert wide.nonmated_score.size == n + 2 and len(ids) == n + 2
    np.testing.assert_array_equal(wide.nonmated_score[:n], own.nonmated_score)
    np.testing.assert_array_equal(wide.mated_score, own.mated_score)
    expected = (vecs[[6, 7]] @ vecs[[0, 1]].T).max(axis=1)
    np.testing.assert_allclose(wide.nonmated_score[n:], expected)
    assert ids[n:] == [h.ids[6], h.ids[7]] and ids[:n] == lv.nonmated_identities(h, ok, True)
