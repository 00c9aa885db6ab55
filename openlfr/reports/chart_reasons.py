"""The chart of arrests' outcomes by reason wanted (issue 13), as inline SVG.

Only published counts are drawn: a suppressed cell ("<5", or "c" withheld) is drawn as nothing
and its row is marked, so the picture never reveals what the table withholds.
"""

from __future__ import annotations

import io
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from openlfr.reports.by_reason import ReasonRow
from openlfr.service.alerts import Outcome

_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "openlfr-reasons", "font.size": 9}
_COLOURS = ("#9ecae1", "#f0b400", "#08519c", "#31a354", "#a1d99b")
_LABELS = {
    Outcome.ENGAGED_NO_ARREST.value: "engaged, no arrest",
    Outcome.ARRESTED.value: "arrested, disposal awaited",
    Outcome.CHARGED_OR_CAUTIONED.value: "charged or cautioned",
    Outcome.BAILED_OR_RUI.value: "bailed or released under investigation",
    Outcome.NO_FURTHER_ACTION.value: "no further action",
}


def reasons_chart(rows: list[ReasonRow]) -> str:
    title = "Outcomes of confirmed alerts by reason wanted (suppressed counts not drawn)"
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 0.4 * len(rows) + 1.8), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        left = [0] * len(rows)
        for outcome, colour in zip(_LABELS, _COLOURS):
            widths = [v if isinstance(v := r.outcomes.get(outcome, 0), int) else 0 for r in rows]
            if any(widths):
                ax.barh(ys, widths, left=left, color=colour, height=0.6, label=_LABELS[outcome])
                left = [a + b for a, b in zip(left, widths)]
        marks = [
            r.label
            + (" (some suppressed)" if any(isinstance(v, str) for v in r.outcomes.values()) else "")
            for r in rows
        ]
        ax.set_yticks(ys, marks)
        ax.set_xlabel("confirmed alerts with an outcome")
        ax.set_xlim(0, max(max(left, default=0), 1) * 1.05)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title("Outcomes by reason wanted")
        ax.spines[["top", "right"]].set_visible(False)
        if any(left):
            fig.legend(loc="outside lower center", ncols=2, frameon=False)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{title}" ', text, count=1)
