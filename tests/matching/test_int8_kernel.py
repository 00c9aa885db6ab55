"""The int8 first pass (onnxruntime MatMulInteger) is exact integer arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from openlfr.matching.int8_kernel import MAX_CODE, MAX_PROBE, Int8Scorer


def _exact(p: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return p.astype(np.int64) @ codes.astype(np.int64)


@pytest.mark.parametrize("m", [1, 3, 8])
def test_scores_equal_integer_matmul(m: int) -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(-MAX_CODE, MAX_CODE + 1, (128, 5_000), dtype=np.int8)
    scorer = Int8Scorer(codes, np.zeros(5_000, np.int32), threads=2)
    p = rng.integers(0, MAX_PROBE + 1, (m, 128), dtype=np.uint8)
    np.testing.assert_array_equal(scorer.scores(p), _exact(p, codes))


def test_extreme_values_do_not_saturate() -> None:
    """127 x +-127 in every lane: an int16 pair sum that saturated would show here."""
    codes = np.full((256, 64), MAX_CODE, np.int8)
    codes[:, 1::2] = -MAX_CODE
    codes[::3, 5] = 0
    scorer = Int8Scorer(codes, np.zeros(64, np.int32), threads=1)
    p = np.full((2, 256), MAX_PROBE, np.uint8)
    p[1, ::2] = 1
    out = np.empty((2, 64), np.int32)
    got = scorer.scores(p, out=out)
    assert got is out
    np.testing.assert_array_equal(got, _exact(p, codes))
    assert got[0, 0] == 256 * 127 * 127


def test_bad_inputs_are_refused() -> None:
    codes = np.zeros((4, 10), np.int8)
    with pytest.raises(ValueError, match="codes"):
        Int8Scorer(codes.astype(np.int16), np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="codes"):
        Int8Scorer(np.full((4, 10), -128, np.int8), np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="offset"):
        Int8Scorer(codes, np.zeros(9, np.int32))
    scorer = Int8Scorer(codes, np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="probes"):
        scorer.scores(np.full((1, 4), 128, np.uint8))
    with pytest.raises(ValueError, match="probes"):
        scorer.scores(np.zeros((1, 5), np.uint8))
    with pytest.raises(ValueError, match="out"):
        scorer.scores(np.zeros((1, 4), np.uint8), out=np.empty((2, 10), np.int32))
