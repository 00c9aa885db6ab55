"""The root conftest's CI rule, run on a throw-away suite: with CI=true a skip for a missing
requirement fails; without it the skip stays, naming what to install; other skips stay skips."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SUITE = """
import pytest
from suite import needs

def test_needs_postgres():
    pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))

@pytest.mark.skipif(True, reason=needs("Chromium"))
def test_needs_chromium():
    pass

def test_old_style_reason():
    pytest.skip("no ../shared/data/lfw")

def test_ordinary_skip():
    pytest.skip("v4l2 is Linux's camera API")

@pytest.mark.xfail(reason="needs: a fix", run=False)
def test_expected_failure():
    pass

def test_passes():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest("from suite import pytest_runtest_makereport  # noqa: F401\n")
    pytester.makepyfile(test_example=SUITE)
    return pytester


@pytest.mark.parametrize("value", ["true", "1"])
def test_in_ci_a_missing_requirement_fails(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    result = suite.runpytest("-rA")
    # A skip at setup (a skipif mark, a fixture) turns into an error: red all the same.
    result.assert_outcomes(passed=1, failed=2, errors=1, skipped=1, xfailed=1)
    for line in (
        "*FAILED test_example.py::test_needs_postgres - CI=true, so a missing requirement fails, "
        "not skips: needs: PostgreSQL*",
        "*FAILED test_example.py::test_old_style_reason*shared/data*",
    ):
        result.stdout.fnmatch_lines([line])
    result.stdout.fnmatch_lines(["*ERROR test_example.py::test_needs_chromium*needs: Chromium*"])
    result.stdout.fnmatch_lines(["SKIPPED*test_example.py:*v4l2*"])


def test_locally_it_is_a_skip_that_says_what_to_install(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            "*needs: PostgreSQL (OPENLFR_TEST_PG_URL is not set); to run it: apt-get install "
            "postgresql*",
            "*needs: Chromium; to run it: apt-get install chromium*",
        ]
    )
