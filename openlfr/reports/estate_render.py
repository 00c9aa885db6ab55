"""The custody estate review (R18) as JSON and as one self-contained HTML page with charts.

Reads only ``reports.estate``'s dataclasses: counts, ages and times, never a person.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from functools import cache
from typing import Any

import matplotlib
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from openlfr.reports.estate import SCHEMA, Bucket, EstateReview, OutcomeRow

_ELIGIBLE, _INELIGIBLE, _MAIN = "#1f4e79", "#c0392b", "#4a7aa8"
# As reports/charts.py: text stays text, fixed ids, so one review renders to the same bytes.
_RC: dict[Any, Any] = {"svg.fonttype": "none", "svg.hashsalt": "openlfr-estate", "font.size": 9}


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(review: EstateReview) -> str:
    body = {"schema": SCHEMA, **asdict(review)}
    return json.dumps(body, indent=2, default=_jsonable, ensure_ascii=False) + "\n"


def _svg(fig: Figure, title: str) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
    label = title.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return re.sub(r"<svg ", f'<svg role="img" aria-label="{label}" ', text, count=1)


def outcome_chart(rows: Sequence[OutcomeRow]) -> str:
    """Stacked horizontal bars per case outcome: eligible and ineligible images held."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 0.4 * len(rows) + 1.4), layout="constrained")
        ax = fig.add_subplot()
        ys = list(range(len(rows)))[::-1]
        eligible = [r.eligible for r in rows]
        ineligible = [r.ineligible for r in rows]
        ax.barh(ys, eligible, color=_ELIGIBLE, height=0.6, label="eligible (searched)")
        ax.barh(ys, ineligible, left=eligible, color=_INELIGIBLE, height=0.6,
                label="ineligible (never searched; deleted after the review period)")  # fmt: skip
        top = max(max((r.held for r in rows), default=0), 1)
        for y, r in zip(ys, rows, strict=True):
            ax.text(r.held + top * 0.01, y, f"{r.held:,}", va="center")
        ax.set_xlim(0, top * 1.15)
        ax.set_yticks(ys, [r.label for r in rows])
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("custody images held")
        ax.set_title("Images held by case outcome")
        ax.spines[["top", "right"]].set_visible(False)
        fig.legend(loc="outside lower center", ncols=1, frameon=False)
        return _svg(fig, "Custody images held by case outcome, eligible and ineligible")


def bucket_chart(buckets: Sequence[Bucket], title: str, xlabel: str, colour: str = _MAIN) -> str:
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.0, 2.6), layout="constrained")
        ax = fig.add_subplot()
        xs = list(range(len(buckets)))
        counts = [b.count for b in buckets]
        ax.bar(xs, counts, color=colour, width=0.6)
        for x, n in zip(xs, counts, strict=True):
            ax.text(x, n, f"{n:,}", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(xs, [b.label for b in buckets])
        ax.set_ylim(0, max(max(counts, default=0), 1) * 1.2)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel)
        ax.set_ylabel("images")
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig, title)


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("openlfr.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["n"] = lambda v: f"{v:,}"
    env.filters["dt"] = lambda v: f"{v:%Y-%m-%d %H:%M} UTC" if v else "—"
    env.filters["dur"] = _duration
    return env


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def to_html(review: EstateReview) -> str:
    charts = {
        "outcome": Markup(outcome_chart(review.by_case_outcome)),
        "age": Markup(
            bucket_chart(review.by_image_age, "Images held by age of image", "age (from capture)")
        ),
        "held": Markup(
            bucket_chart(
                review.ineligible_by_time_held,
                "Ineligible images still held, by time since they became ineligible",
                "time ineligible",
                _INELIGIBLE,
            )
        ),
    }
    return _env().get_template("estate.html.j2").render(r=review, charts=charts)
