"""The pure rule: does a match join the open alert as a sighting, or raise a new alert?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openlfr.domain.grouping import OpenAlert, joins_open_alert

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("candidate", "seen_at", "window_s", "joins", "why"),
    [
        (None, T0, 600, False, "no alert for this subject yet"),
        (OpenAlert("pending", T0), T0 + 30 * S, 600, True, "seen again 30 s later"),
        (OpenAlert("pending", T0), T0 + 600 * S, 600, True, "exactly at the window's edge"),
        (OpenAlert("pending", T0), T0 + 601 * S, 600, False, "just past the window"),
        (OpenAlert("pending", T0), T0 - 20 * S, 600, True, "another camera stored late"),
        (OpenAlert("pending", T0), T0 - 601 * S, 600, False, "late, beyond the window"),
        (OpenAlert("pending", T0), T0, 0, False, "window 0: every alert separate"),
        (OpenAlert("confirmed", T0), T0 + S, 600, False, "decided: closed"),
        (OpenAlert("false_alert", T0), T0 + S, 600, False, "decided: closed"),
        (OpenAlert("not_actioned", T0), T0 + S, 600, False, "decided: closed"),
        (OpenAlert("pending", T0, purged=True), T0 + S, 600, False, "its data already purged"),
        (OpenAlert("pending", T0), T0 + 3599 * S, 3600, True, "a longer window"),
    ],
)
def test_join_or_new(
    candidate: OpenAlert | None, seen_at: datetime, window_s: float, joins: bool, why: str
) -> None:
    assert joins_open_alert(candidate, seen_at, window_s) is joins, why


def test_window_setting_default_and_bounds() -> None:
    from pydantic import ValidationError

    from openlfr.config import Settings
    from openlfr.config_grouping import GroupingSettings

    assert Settings().grouping.window_s == 600.0
    assert GroupingSettings(window_s=0).window_s == 0
    for bad in (-1, 86_401):
        with pytest.raises(ValidationError):
            GroupingSettings(window_s=bad)
    with pytest.raises(ValidationError):
        GroupingSettings(window=5)  # type: ignore[call-arg]
