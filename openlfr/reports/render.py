"""The aggregate report and the single-deployment record as JSON, CSV and standalone HTML.

Every renderer reads only the public dataclasses in ``model``; none can reach the store.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, fields
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from openlfr.domain import WatchlistCategory
from openlfr.reports import charts
from openlfr.reports.by_reason import ARRESTS, reason_labels
from openlfr.reports.chart_reasons import reasons_chart
from openlfr.reports.model import (
    CATEGORY_LABELS,
    DEFINITIONS,
    DISPOSITION_LABELS,
    OUTCOME_LABELS,
    AggregateReport,
    Deletion,
    PublicRecord,
    Totals,
    funnel,
    totals,
)
from openlfr.service.alerts import Outcome
from openlfr.service.record_sections import TEMPLATES as SECTION_TEMPLATES
from openlfr.service.records import DISPOSITIONS

#: 2: "people_seen" (tracks) and "face_detections" replace "faces_seen", the false-alert rate is
#: per 1,000 people seen, and each deployment has its status, end reason and "did_not_run".
SCHEMA = "openlfr.report/2"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(report: AggregateReport) -> str:
    body = {"schema": SCHEMA, **asdict(report)}
    return json.dumps(body, indent=2, default=_jsonable, ensure_ascii=False) + "\n"


def record_json(record: PublicRecord) -> str:
    body = {"schema": SCHEMA, **asdict(record), "definitions": dict(DEFINITIONS)}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


# --- CSV: one row per deployment and a totals row, fixed columns --------------------------------

_CATEGORIES = [c.value for c in WatchlistCategory]
_OUTCOMES = [o.value for o in Outcome]
_SCALARS = [
    "deployment_id", "name", "date", "start", "end", "started_at", "ended_at", "location",
    "purpose", "status", "end_reason", "did_not_run", "authorising_rank", "threshold",
    "watchlist_size", "frames", "frames_dropped", "people_seen", "face_detections", "alerts",
    "confirmed", "false_alerts", "not_actioned", "pending", "arrests",
    "false_alerts_per_1000_people",
]  # fmt: skip
#: The CSV's own words for its counts (a CSV has no notes): on every row, so none is read alone.
RATE_BASIS = (
    "false alerts per 1,000 people seen; people seen = people passing (one face track each, "
    "as NPL counts them), not face detections (one per frame)"
)
_DELETION = [f.name for f in fields(Deletion)]
#: Issue 13: the period's arrests and outcomes by reason wanted, on the TOTAL row only (a
#: deployment's own row would be too small to publish), suppressed as in the HTML.
_REASONS = list(reason_labels())
_REASON_COLUMNS = [f"reason_{r}_{c}" for r in _REASONS for c in [ARRESTS, *_OUTCOMES]]


def csv_columns() -> list[str]:
    """The CSV header. Every category and outcome has its column, zeros included, so files for
    different periods can be stacked."""
    return [
        *_SCALARS,
        "rate_basis",
        "cameras",
        *(f"watchlist_{c}" for c in _CATEGORIES),
        *(f"outcome_{o}" for o in _OUTCOMES),
        *(f"alerts_{c}_{d}" for c in _CATEGORIES for d in DISPOSITIONS),
        "end_reasons",
        *_DELETION,
        *_REASON_COLUMNS,
        "notices_withheld",
    ]


def _row(r: PublicRecord) -> dict[str, Any]:
    row: dict[str, Any] = {k: getattr(r, k) for k in _SCALARS}
    row["rate_basis"] = RATE_BASIS
    row["cameras"] = "; ".join(r.cameras)
    row.update({f"watchlist_{c}": r.watchlist_size_by_category.get(c, 0) for c in _CATEGORIES})
    row.update({f"outcome_{o}": r.outcomes.get(o, 0) for o in _OUTCOMES})
    for c in _CATEGORIES:
        for d in DISPOSITIONS:
            row[f"alerts_{c}_{d}"] = r.alert_results_by_category.get(c, {}).get(d, 0)
    row["end_reasons"] = "; ".join(r.end_reasons)
    row.update(asdict(r.deletion))
    return row


def _totals_row(report: AggregateReport) -> dict[str, Any]:
    t, recs = report.totals, report.deployments
    row: dict[str, Any] = {
        "deployment_id": "TOTAL",
        # Totals count the deployments that ran; the others are counted here, in words.
        "name": f"{t.deployments} deployments; {t.did_not_run} did not run; "
        f"{t.refused} refused; {t.withdrawn} withdrawn",
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "cameras": t.cameras,
        "watchlist_size": sum(r.watchlist_size for r in recs if not r.did_not_run),
        "rate_basis": RATE_BASIS,
        **{k: getattr(t, k) for k in _SCALARS if k in Totals.__dataclass_fields__},
    }
    for c in _CATEGORIES:
        row[f"watchlist_{c}"] = sum(
            r.watchlist_size_by_category.get(c, 0) for r in recs if not r.did_not_run
        )
        for d in DISPOSITIONS:
            row[f"alerts_{c}_{d}"] = t.alert_results_by_category.get(c, {}).get(d, 0)
    row.update({f"outcome_{o}": t.outcomes.get(o, 0) for o in _OUTCOMES})
    row.update(dict.fromkeys(_REASON_COLUMNS, 0))  # "not recorded" is listed only when some
    for r in report.accountability.by_reason:
        row[f"reason_{r.reason}_{ARRESTS}"] = r.arrests
        row.update({f"reason_{r.reason}_{o}": v for o, v in r.outcomes.items()})
    row["notices_withheld"] = report.accountability.notices_withheld
    row["watchlist_purge"] = "; ".join(f"{k}: {n}" for k, n in t.watchlist_purge.items())
    row["watchlist_purge_hours_after_end"] = t.watchlist_purge_max_hours_after_end
    for k in ("purged", "kept_for_outcome", "not_yet_purged", "overdue", "max_days_to_purge"):
        row[f"alert_data_{k}"] = getattr(t, f"alert_data_{k}")
    return row


def to_csv(report: AggregateReport) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=csv_columns(), restval="", lineterminator="\n")
    writer.writeheader()
    for r in report.deployments:
        writer.writerow(_row(r))
    writer.writerow(_totals_row(report))
    return buf.getvalue()


# --- HTML ---------------------------------------------------------------------------------------


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("openlfr.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        CATEGORY_LABELS=CATEGORY_LABELS,
        DEFINITIONS=DEFINITIONS,
        DISPOSITION_LABELS=DISPOSITION_LABELS,
        OUTCOME_LABELS=OUTCOME_LABELS,
        DISPOSITIONS=DISPOSITIONS,
        SECTION_TEMPLATES=SECTION_TEMPLATES,
    )
    env.filters["num"] = lambda v: "—" if v is None else f"{v:,}" if isinstance(v, int) else v
    env.filters["when"] = _when
    return env


def _when(value: str | datetime | None) -> str:
    """A time to the minute, in UTC, for people; JSON and CSV keep the full ISO value."""
    if value is None:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def to_html(report: AggregateReport) -> str:
    recs = report.deployments
    pictures = {}
    if recs:
        # Charts are matplotlib's own SVG, trusted markup; everything else is autoescaped.
        pictures = {
            "funnel": Markup(charts.funnel_chart(report.funnel)),
            "categories": Markup(
                charts.outcomes_by_category_chart(report.totals.alert_results_by_category)
            ),
            "rates": Markup(charts.false_alert_rate_chart([r for r in recs if not r.did_not_run])),
            "reasons": Markup(reasons_chart(report.accountability.by_reason)),
        }
    return _env().get_template("report.html.j2").render(report=report, charts=pictures)


def record_html(record: PublicRecord) -> str:
    """One deployment's published record as a standalone page, with its own funnel."""
    one = totals([record])
    pictures = {
        "funnel": Markup(charts.funnel_chart(funnel(one))),
        "categories": Markup(charts.outcomes_by_category_chart(record.alert_results_by_category)),
    }
    return _env().get_template("record.html.j2").render(record=record, charts=pictures)
