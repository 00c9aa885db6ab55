"""The funnel chart: a linear scale, every bar's length in proportion to its count, and every
count written beside its bar (a log scale drew 1 as nothing and 2 as half of 400)."""

from __future__ import annotations

import re

import pytest

from openlfr.reports.charts import funnel_chart
from openlfr.reports.model import FunnelStage

_RECT = re.compile(
    r'<g id="patch_\d+">\s*<path d="M ([\d.]+) ([\d.]+)\s*L ([\d.]+) [\d.]+\s*L [\d.]+ [\d.]+'
    r"\s*L [\d.]+ [\d.]+\s*z"
)


def _bar_widths(svg: str) -> list[float]:
    """The widths of the filled rectangles after the figure's and the axes' backgrounds."""
    rects = [(float(x1) - float(x0)) for x0, _, x1 in _RECT.findall(svg)]
    return rects[2:]


def _texts(svg: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", svg)


STAGES = [
    FunnelStage("people_seen", "people seen", 400),
    FunnelStage("alerts", "alerts", 2),
    FunnelStage("false_alerts", "false alerts", 1, 1),
    FunnelStage("confirmed", "confirmed matches", 1),
    FunnelStage("arrests", "arrests", 0),
]


def test_bars_are_in_proportion_on_a_linear_scale() -> None:
    svg = funnel_chart(STAGES)
    widths = _bar_widths(svg)
    assert len(widths) == len(STAGES)
    big, two, one, one_again, zero = widths
    assert two / big == pytest.approx(2 / 400, rel=0.01)
    assert one > 0 and one == one_again and two == pytest.approx(2 * one)
    assert zero == 0
    assert "count (linear scale)" in _texts(svg)
    assert not any("log" in t for t in _texts(svg))


def test_every_bar_has_its_count_written() -> None:
    texts = _texts(funnel_chart(STAGES))
    # Labels and counts, in stage order, after the axis ticks.
    labels = [t for t in texts if t in {"400", "2", "1", "0"}]
    assert labels[-5:] == ["400", "2", "1", "1", "0"]
    assert "From people seen to outcomes" in texts


def test_counts_over_a_thousand_are_written_with_separators() -> None:
    texts = _texts(funnel_chart([FunnelStage("people_seen", "people seen", 12345)]))
    assert "12,345" in texts
