"""Charts for the published reports, drawn by matplotlib as inline SVG.

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot: no global figure
registry and no GUI backend, so a web server can render reports from several threads. Text stays
text in the SVG (``svg.fonttype: none``): the page is searchable and screen readers can read
the labels, and the ids are salted with a fixed string so the same report renders to the same
bytes.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from openlfr.reports.model import CATEGORY_LABELS, DISPOSITION_LABELS, FunnelStage, PublicRecord
from openlfr.service.records import DISPOSITIONS

_MAIN, _BRANCH = "#1f4e79", "#8fb3d9"
# One colour per disposition, in DISPOSITIONS order: greys for nothing done, red for false
# alerts, blues and greens for what followed a confirmed match.
_DISPOSITION_COLOURS = (
    "#bdbdbd",
    "#c0392b",
    "#7f7f7f",
    "#f0b400",
    "#9ecae1",
    "#3182bd",
    "#08519c",
    "#31a354",
    "#a1d99b",
)
# dict[Any, Any]: matplotlib types rc keys as a Literal union that a plain dict cannot meet.
_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "openlfr-report", "font.size": 9}


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    # Inline in HTML: drop the XML prolog and DOCTYPE, and give the picture an accessible name.
    text = text[text.index("<svg") :]
    # The RDF metadata block only names the generator; it is noise in a published page.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{_attr(title)}" ', text, count=1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def funnel_chart(stages: Sequence[FunnelStage]) -> str:
    """Horizontal bars on a linear scale, each with its count written beside it. A log scale
    would draw 1 as nothing (log 1 = 0) and make 2 look like half of 400; on a linear scale the
    later stages are short bars, as they truly are, and the written count says how many."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 0.32 * len(stages) + 0.9)
        ax = fig.add_subplot()
        labels = [("\u21b3 " if s.level else "") + s.label for s in stages]
        ys = list(range(len(stages)))[::-1]
        top = max(max((s.count for s in stages), default=0), 1)
        for y, s in zip(ys, stages):
            colour = _BRANCH if s.level else _MAIN
            ax.barh(y, s.count, color=colour, height=0.7)
            # Past the bar's end (a zero bar has none): always readable, never on the bar.
            ax.text(s.count + top * 0.01, y, f"{s.count:,}", va="center")
        # Room on the right for the longest bar's count.
        ax.set_xlim(0, top * 1.12)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        ax.set_yticks(ys, labels)
        ax.set_xlabel("count (linear scale)")
        ax.set_title("From people seen to outcomes")
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig, "Funnel: people seen, alerts, confirmed matches, arrests and outcomes")


def outcomes_by_category_chart(table: dict[str, dict[str, int]]) -> str:
    """Stacked bars, one per watchlist category, split by what became of each alert."""
    cats = list(table)
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 0.45 * len(cats) + 1.6)
        ax = fig.add_subplot()
        ys = list(range(len(cats)))[::-1]
        left = [0] * len(cats)
        for key, colour in zip(DISPOSITIONS, _DISPOSITION_COLOURS):
            widths = [table[c].get(key, 0) for c in cats]
            if any(widths):
                ax.barh(ys, widths, left=left, color=colour, height=0.6,
                        label=DISPOSITION_LABELS[key])  # fmt: skip
                left = [a + b for a, b in zip(left, widths)]
        ax.set_yticks(ys, [CATEGORY_LABELS.get(c, c) for c in cats])
        ax.set_xlabel("alerts")
        ax.set_xlim(0, max(max(left, default=0), 1) * 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Alerts by watchlist category and what followed")
        ax.spines[["top", "right"]].set_visible(False)
        if any(left):
            fig.legend(loc="outside lower center", ncols=2, frameon=False)
        else:
            ax.text(0.5, 0.5, "no alerts", transform=ax.transAxes, ha="center", va="center")
        return _svg(fig, "Alerts by watchlist category, stacked by what followed each alert")


def false_alert_rate_chart(records: Sequence[PublicRecord]) -> str:
    """False alerts per 1,000 people seen, one bar per deployment that ran."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 2.6)
        ax = fig.add_subplot()
        xs = list(range(len(records)))
        rates = [r.false_alerts_per_1000_people for r in records]
        ax.bar(xs, rates, color="#c0392b", width=0.6)
        for x, r, rate in zip(xs, records, rates):
            ax.text(x, rate, f"{rate:g}\n({r.false_alerts}/{r.people_seen:,})",
                    ha="center", va="bottom", fontsize=7)  # fmt: skip
        ax.set_xticks(xs, [f"#{r.deployment_id}\n{r.date}" for r in records])
        ax.set_ylim(0, max(max(rates, default=0), 0.1) * 1.4)
        ax.set_ylabel("false alerts per 1,000 people")
        ax.set_title("False-alert rate per deployment (false alerts / people seen)")
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig, "False alerts per 1,000 people seen, per deployment")
