"""The public record of one deployment and the aggregate over a period (DESIGN.md §5, R14).

Records are copied field by field from ``deployment_record`` into typed dataclasses: a field
added to the internal record later does not reach a published report until someone adds it
here on purpose. That allow-list is what keeps personal data out of every output format.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openlfr.domain import WatchlistCategory
from openlfr.reports.by_reason import Accountability, accountability
from openlfr.service.alerts import Outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.records import (
    ARREST_OUTCOMES,
    DISPOSITIONS,
    deployment_ids_starting,
    deployment_record,
    unpublished_counts,
)

#: What each published count means, in words: every format carries these (the HTML as notes,
#: the JSON as ``definitions``, the CSV as a column), so a figure is never read in the wrong
#: unit. People are counted as the NPL evaluation counts them: one per face track.
DEFINITIONS: dict[str, str] = {
    "people_seen": (
        "People seen: people passing the cameras, each counted once however many video frames "
        "showed them (one face track per person, as the NPL evaluation counts them)."
    ),
    "face_detections": (
        "Face detections: faces found frame by frame, so one person in view for 4 seconds at "
        "25 frames a second makes about 100 detections. Not a count of people."
    ),
    "false_alerts_per_1000_people": (
        "False alerts per 1,000 people seen: 1,000 times the false alerts divided by the "
        "people seen (not by face detections)."
    ),
    "did_not_run": (
        "Did not run: the deployment was authorised but its run ended on an error before any "
        "camera worked (e.g. no camera could be opened). It is listed, and counted apart from "
        "the deployments that ran."
    ),
    "refused": (
        "Refused / withdrawn: requests to deploy that the authorising officer refused, or that "
        "were withdrawn before going live. Counted only; they are not deployments and never "
        "searched anyone."
    ),
}

#: The published end reason of a run that failed (the stored reason may name a camera source).
DID_NOT_RUN = "did not run: camera failed"

#: Plain-words labels for published tables and charts.
OUTCOME_LABELS: dict[str, str] = {
    Outcome.ENGAGED_NO_ARREST.value: "engaged, no arrest",
    Outcome.ARRESTED.value: "arrested, disposal awaited",
    Outcome.CHARGED_OR_CAUTIONED.value: "charged or cautioned",
    Outcome.BAILED_OR_RUI.value: "bailed or released under investigation",
    Outcome.NO_FURTHER_ACTION.value: "no further action",
}
DISPOSITION_LABELS: dict[str, str] = {
    "pending": "awaiting review",
    "false_alert": "false alert",
    "not_actioned": "not actioned",
    "confirmed_no_outcome": "confirmed, outcome not yet recorded",
    **OUTCOME_LABELS,
}
CATEGORY_LABELS: dict[str, str] = {c.value: c.label for c in WatchlistCategory}


@dataclass(frozen=True)
class Deletion:
    """Deletion times achieved (R9 watchlist, R10 alert data)."""

    deployment_end: str
    watchlist_purge_due: str
    watchlist_purged_at: str | None
    watchlist_purge_hours_after_end: float | None
    watchlist_purge: str
    alert_data_purged: int
    alert_data_kept_for_outcome: int
    alert_data_not_yet_purged: int
    alert_data_overdue: int
    alert_data_max_days_to_purge: float | None
    alert_data_median_days_to_purge: float | None


@dataclass(frozen=True)
class PublicRecord:
    """One deployment as published: numbers, categories, times, ranks. Nothing personal."""

    deployment_id: int
    name: str
    date: str
    start: str
    end: str
    started_at: str | None
    ended_at: str | None
    location: str
    purpose: str
    status: str
    #: How the deployment ended, in public words ("did not run: camera failed"), or None.
    end_reason: str | None
    did_not_run: bool
    authorising_rank: str | None
    cameras: list[str]
    threshold: float
    watchlist_size: int
    watchlist_size_by_category: dict[str, int]
    frames: int
    frames_dropped: int
    people_seen: int
    face_detections: int
    alerts: int
    confirmed: int
    false_alerts: int
    not_actioned: int
    pending: int
    arrests: int
    outcomes: dict[str, int]
    false_alerts_per_1000_people: float
    alert_results_by_category: dict[str, dict[str, int]]
    end_reasons: list[str]
    deletion: Deletion
    #: Each concern's own publishable keys (service/record_sections.py), by section.
    sections: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FunnelStage:
    key: str
    label: str
    count: int
    #: 0: people seen -> alerts -> confirmed -> arrests; 1: a branch of the stage above it.
    level: int = 0


@dataclass(frozen=True)
class Totals:
    """Figures over the deployments that ran. ``did_not_run`` counts the authorised ones whose
    run failed (listed, not counted as deployments); ``refused`` and ``withdrawn`` count the
    requests that never became deployments (not listed at all)."""

    deployments: int
    did_not_run: int
    refused: int
    withdrawn: int
    cameras: int
    frames: int
    frames_dropped: int
    people_seen: int
    face_detections: int
    alerts: int
    confirmed: int
    false_alerts: int
    not_actioned: int
    pending: int
    arrests: int
    outcomes: dict[str, int]
    false_alerts_per_1000_people: float
    alert_results_by_category: dict[str, dict[str, int]]
    watchlist_purge: dict[str, int]
    watchlist_purge_max_hours_after_end: float | None
    alert_data_purged: int
    alert_data_kept_for_outcome: int
    alert_data_not_yet_purged: int
    alert_data_overdue: int
    alert_data_max_days_to_purge: float | None


@dataclass(frozen=True)
class AggregateReport:
    start: datetime
    end: datetime
    generated_at: datetime
    deployments: list[PublicRecord]
    totals: Totals
    funnel: list[FunnelStage] = field(default_factory=list)
    definitions: dict[str, str] = field(default_factory=lambda: dict(DEFINITIONS))
    #: Arrests by reason wanted and notices withheld (issue 13), small counts suppressed.
    accountability: Accountability = field(default_factory=Accountability)


#: The kinds of ending a published record may name. The stored reasons go on with details that
#: must not be published: a camera URL (with credentials) or a file path after "source failed:",
#: a path after "store full:", the user after "stopped by". Only the kind is published.
_END_KINDS = (
    "did not run",
    "sources ended",
    "source ended",
    "authorised window ended",
    "stopped",
    "cannot open source",
    "source failed",
    "store full",
    "runner lost",
    "error",
)


def _end_kind(part: str) -> str:
    part = part.strip()
    # A run with several cameras says "<camera>: <reason>" for each.
    for text in (part, part.partition(": ")[2]):
        for kind in _END_KINDS:
            if text.startswith(kind):
                return kind
    return "ended"


def _public_end_reason(reason: str) -> str:
    return "; ".join(dict.fromkeys(_end_kind(p) for p in reason.split("; ") if p.strip()))


def _deployment_end_reason(record: dict[str, Any]) -> str | None:
    if record["did_not_run"]:
        return DID_NOT_RUN
    reason = record.get("end_reason")
    return (_public_end_reason(reason) or None) if reason else None


def public_record(record: dict[str, Any]) -> PublicRecord:
    """The publishable subset of ``deployment_record``'s dict."""
    outcomes = {o.value: int(record["outcomes"].get(o.value, 0)) for o in Outcome}
    return PublicRecord(
        deployment_id=record["deployment_id"],
        name=record["name"],
        date=record["date"],
        start=record["start"],
        end=record["end"],
        started_at=record["started_at"],
        ended_at=record["ended_at"],
        location=record["location"],
        purpose=record["purpose"],
        status=record["status"],
        end_reason=_deployment_end_reason(record),
        did_not_run=bool(record["did_not_run"]),
        authorising_rank=record["authorising_rank"],
        cameras=list(record["cameras"]),
        threshold=record["threshold"],
        watchlist_size=record["watchlist_size"],
        watchlist_size_by_category=dict(record["watchlist_size_by_category"]),
        frames=record["frames"],
        frames_dropped=record["frames_dropped"],
        people_seen=record["people_seen"],
        face_detections=record["face_detections"],
        alerts=record["alerts"],
        confirmed=record["confirmed"],
        false_alerts=record["false_alerts"],
        not_actioned=record["not_actioned"],
        pending=record["pending"],
        arrests=record["arrests"],
        outcomes=outcomes,
        false_alerts_per_1000_people=record["false_alerts_per_1000_people"],
        alert_results_by_category={
            cat: dict(row) for cat, row in record["alert_results_by_category"].items()
        },
        end_reasons=sorted({_public_end_reason(r) for r in record["end_reasons"]}),
        deletion=Deletion(**record["deletion"]),
        sections=dict(record.get("sections", {})),
    )


def load_public_record(ctx: AppContext, deployment_id: int) -> PublicRecord:
    return public_record(deployment_record(ctx, deployment_id))


def funnel(t: Totals) -> list[FunnelStage]:
    """people seen -> alerts -> confirmed -> arrests -> outcomes, with the branches off it."""
    o = t.outcomes
    return [
        FunnelStage("people_seen", "people seen", t.people_seen),
        FunnelStage("alerts", "alerts", t.alerts),
        FunnelStage("false_alerts", "false alerts", t.false_alerts, 1),
        FunnelStage("not_actioned", "not actioned", t.not_actioned, 1),
        FunnelStage("pending", "awaiting review", t.pending, 1),
        FunnelStage("confirmed", "confirmed matches", t.confirmed),
        FunnelStage("engaged_no_arrest", "engaged, no arrest", o["engaged_no_arrest"], 1),
        FunnelStage("arrests", "arrests", t.arrests),
        *(
            FunnelStage(key, OUTCOME_LABELS[key], o[key], 1)
            for key in (
                Outcome.CHARGED_OR_CAUTIONED.value,
                Outcome.BAILED_OR_RUI.value,
                Outcome.NO_FURTHER_ACTION.value,
                Outcome.ARRESTED.value,
            )
        ),
    ]


def _sum_tables(tables: list[dict[str, dict[str, int]]]) -> dict[str, dict[str, int]]:
    out = {c.value: dict.fromkeys(DISPOSITIONS, 0) for c in WatchlistCategory}
    for table in tables:
        for cat, row in table.items():
            target = out.setdefault(cat, dict.fromkeys(DISPOSITIONS, 0))
            for key, n in row.items():
                target[key] = target.get(key, 0) + n
    return out


def totals(records: list[PublicRecord], unpublished: dict[str, int] | None = None) -> Totals:
    """The figures of the deployments that ran; a run that failed is counted apart. Deletion
    figures cover every listed deployment: R9 and R10 apply whether or not it ran."""
    ran = [r for r in records if not r.did_not_run]

    def total(name: str) -> int:
        return sum(int(getattr(r, name)) for r in ran)

    people, false_alerts = total("people_seen"), total("false_alerts")
    outcomes = {o.value: sum(r.outcomes[o.value] for r in ran) for o in Outcome}
    dels = [r.deletion for r in records]
    unpublished = unpublished or {}
    hours = [d.watchlist_purge_hours_after_end for d in dels]
    days = [d.alert_data_max_days_to_purge for d in dels]
    return Totals(
        deployments=len(ran),
        did_not_run=len(records) - len(ran),
        refused=unpublished.get("refused", 0),
        withdrawn=unpublished.get("withdrawn", 0),
        cameras=sum(len(r.cameras) for r in ran),
        frames=total("frames"),
        frames_dropped=total("frames_dropped"),
        people_seen=people,
        face_detections=total("face_detections"),
        alerts=total("alerts"),
        confirmed=total("confirmed"),
        false_alerts=false_alerts,
        not_actioned=total("not_actioned"),
        pending=total("pending"),
        arrests=sum(n for k, n in outcomes.items() if k in ARREST_OUTCOMES),
        outcomes=outcomes,
        # Rate over the period's people, not a mean of per-deployment rates: a quiet deployment
        # must not weigh as much as a busy one.
        false_alerts_per_1000_people=round(1000 * false_alerts / people, 4) if people else 0.0,
        alert_results_by_category=_sum_tables([r.alert_results_by_category for r in ran]),
        watchlist_purge=dict(sorted(Counter(d.watchlist_purge for d in dels).items())),
        watchlist_purge_max_hours_after_end=max((h for h in hours if h is not None), default=None),
        alert_data_purged=sum(d.alert_data_purged for d in dels),
        alert_data_kept_for_outcome=sum(d.alert_data_kept_for_outcome for d in dels),
        alert_data_not_yet_purged=sum(d.alert_data_not_yet_purged for d in dels),
        alert_data_overdue=sum(d.alert_data_overdue for d in dels),
        alert_data_max_days_to_purge=max((x for x in days if x is not None), default=None),
    )


def _require_aware(moment: datetime, what: str) -> None:
    # A published period must be unambiguous; the store holds UTC-aware times only.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")


def aggregate(ctx: AppContext, start: datetime, end: datetime) -> AggregateReport:
    """Every published deployment (authorised, live or ended) whose scheduled start is in
    [start, end), and the number of refused and withdrawn requests in the same period."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        raise ValueError(f"the period must end after it starts ({start} .. {end})")
    records = [load_public_record(ctx, i) for i in deployment_ids_starting(ctx, start, end)]
    t = totals(records, unpublished_counts(ctx, start, end))
    ran = [r.deployment_id for r in records if not r.did_not_run]
    acc = accountability(ctx, ran, start, end)
    return AggregateReport(start, end, utcnow(), records, t, funnel(t), accountability=acc)
