"""The published deployment record (DESIGN.md §5): numbers only, no personal data.

Everything returned here is meant for publication: counts, categories, times, the rank (never the
name) of the authorising officer. Subject references, names, images, scores of individual
alerts and who adjudicated them are never read into a record, so no renderer can leak them.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openlfr.domain import WatchlistCategory, watchlist_purge_due
from openlfr.errors import RuleViolation
from openlfr.service.alerts import Outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.record_equality import SETTINGS_KEY
from openlfr.service.record_sections import record_sections
from openlfr.service.retention import KEEP_ALERT_OUTCOMES
from openlfr.service.watchlists import watchlist_summary
from openlfr.store import AlertStatus
from openlfr.store import models as m
from openlfr.store.models_governance import WatchlistManifestEntry

#: Outcomes that follow an arrest (DESIGN §1.5: arrest -> charged/cautioned, bailed/RUI, NFA).
#: An alert holds its latest outcome only, so "charged" implies the arrest before it.
ARREST_OUTCOMES = frozenset(
    {
        Outcome.ARRESTED.value,
        Outcome.CHARGED_OR_CAUTIONED.value,
        Outcome.BAILED_OR_RUI.value,
        Outcome.NO_FURTHER_ACTION.value,
    }
)

#: What became of each alert, one bucket per alert (so the buckets add up to the alerts).
#: "confirmed_no_outcome" is a confirmed match whose outcome has not been recorded yet.
DISPOSITIONS: tuple[str, ...] = (
    AlertStatus.PENDING.value,
    AlertStatus.FALSE_ALERT.value,
    AlertStatus.NOT_ACTIONED.value,
    "confirmed_no_outcome",
    *(o.value for o in Outcome),
)

#: The statuses of a deployment that was authorised and not withdrawn: only these are published.
#: A draft, a request returned for changes, a refused request and a withdrawn one never searched
#: anybody, so they are no deployment (refusals and withdrawals are published as numbers only).
PUBLISHED_STATUSES: tuple[str, ...] = (
    m.DeploymentStatus.AUTHORISED.value,
    m.DeploymentStatus.LIVE.value,
    m.DeploymentStatus.ENDED.value,
)


def is_published(status: str) -> bool:
    return status in PUBLISHED_STATUSES


def deployment_ids_starting(ctx: AppContext, start: datetime, end: datetime) -> list[int]:
    """Ids of the published deployments (authorised, live or ended) whose scheduled start is in
    [start, end)."""
    with ctx.store.session() as s:
        return list(
            s.scalars(
                select(m.Deployment.id)
                .where(m.Deployment.start_at >= start, m.Deployment.start_at < end)
                .where(m.Deployment.status.in_(PUBLISHED_STATUSES))
                .order_by(m.Deployment.start_at, m.Deployment.id)
            )
        )


def unpublished_counts(ctx: AppContext, start: datetime, end: datetime) -> dict[str, int]:
    """Requests refused and withdrawn whose scheduled start is in [start, end): published as
    numbers only, so that the public sees how many requests never became deployments."""
    wanted = (m.DeploymentStatus.REFUSED.value, m.DeploymentStatus.WITHDRAWN.value)
    with ctx.store.session() as s:
        found = Counter(
            s.scalars(
                select(m.Deployment.status)
                .where(m.Deployment.start_at >= start, m.Deployment.start_at < end)
                .where(m.Deployment.status.in_(wanted))
            )
        )
    return {status: found.get(status, 0) for status in wanted}


def deployment_record(ctx: AppContext, deployment_id: int) -> dict[str, Any]:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise RuleViolation("R14", f"deployment {deployment_id} does not exist")
        cams = list(s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep.id)))
        counters = list(
            s.scalars(
                select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep.id)
            )
        )
        alerts = list(s.scalars(select(m.Alert).where(m.Alert.deployment_id == dep.id)))
        wl = s.get(m.Watchlist, dep.watchlist_id)
        categories = _alert_categories(s, dep.watchlist_id, alerts)
        alert_purges = _alert_purge_times(alerts)
        # The sections read the settings the store was opened with, not the environment's.
        s.info[SETTINGS_KEY] = ctx.settings
        sections = record_sections(s, dep)
        # R9's clock runs from the end of the last authorised deployment that searched this
        # watchlist (a shared snapshot is kept until then), as service/retention computes it:
        # a draft or a refused request holds no watchlist.
        last_end = max(
            [dep.ended_at or dep.end_at]
            + [
                ended or end
                for ended, end in s.execute(
                    select(m.Deployment.ended_at, m.Deployment.end_at).where(
                        m.Deployment.watchlist_id == dep.watchlist_id,
                        m.Deployment.status.in_(PUBLISHED_STATUSES),
                    )
                )
            ]
        )
    summary = watchlist_summary(ctx, dep.watchlist_id)
    # Every category, zeros included, even when nothing is left to count (a purge without
    # its manifest), so records line up column for column.
    sizes = {c.value: 0 for c in WatchlistCategory} | summary.size_by_category
    people = sum(c.tracks for c in counters)
    status = Counter(a.status for a in alerts)
    outcomes = Counter(a.outcome for a in alerts if a.outcome)
    false_alerts = status.get("false_alert", 0)
    return {
        "deployment_id": dep.id,
        "name": dep.name,
        "date": dep.start_at.date().isoformat(),
        "start": dep.start_at.isoformat(),
        "end": dep.end_at.isoformat(),
        "started_at": dep.started_at.isoformat() if dep.started_at else None,
        "ended_at": dep.ended_at.isoformat() if dep.ended_at else None,
        "location": dep.location,
        "purpose": dep.purpose,
        "status": dep.status,
        "end_reason": dep.end_reason,
        # Ended on an error before any camera ran (e.g. none could be opened): no deployment
        # happened, and the published figures say so instead of counting it.
        "did_not_run": bool(dep.run_failed),
        "authorising_rank": dep.authoriser_rank,
        "cameras": [c.name for c in cams],
        "watchlist_size": sum(sizes.values()),
        "watchlist_size_by_category": sizes,
        "threshold": dep.threshold,
        "frames": sum(c.frames for c in counters),
        "frames_dropped": sum(c.frames_dropped for c in counters),
        # People passing (tracks), the unit of every published rate; detections are per frame.
        "people_seen": people,
        "face_detections": sum(c.faces for c in counters),
        "tracks": people,
        "alerts": len(alerts),
        "confirmed": status.get("confirmed", 0),
        "false_alerts": false_alerts,
        "not_actioned": status.get("not_actioned", 0),
        "pending": status.get("pending", 0),
        "outcomes": dict(outcomes),
        "false_alerts_per_1000_people": round(1000 * false_alerts / people, 4) if people else 0.0,
        "watchlist_purged_at": wl.purged_at.isoformat() if wl and wl.purged_at else None,
        "end_reasons": sorted({c.end_reason for c in counters if c.end_reason}),
        # Added for the transparency reports (issue 4); the keys above are unchanged.
        "arrests": sum(n for o, n in outcomes.items() if o in ARREST_OUTCOMES),
        "alert_results_by_category": _results_by_category(alerts, categories),
        "deletion": _deletion(ctx, dep, wl, last_end, alerts, alert_purges),
        # Issues 9, 10, 12, 13: each concern's own keys (service/record_sections.py).
        "sections": sections,
    }


def disposition(alert: m.Alert) -> str:
    """The one bucket of DISPOSITIONS this alert is in now."""
    if alert.outcome:
        return alert.outcome
    if alert.status == AlertStatus.CONFIRMED.value:
        return "confirmed_no_outcome"
    return alert.status


def _alert_categories(s: Session, watchlist_id: int, alerts: list[m.Alert]) -> dict[int, str]:
    """alert id -> watchlist category. The watchlist entry's category is the snapshot that was
    in force during the deployment; the subject's current category is the fallback for when the
    snapshot is gone. Only categories leave this function, never refs."""
    if not alerts:
        return {}
    snapshot: dict[int, str] = {}
    # The manifest outlives a purge; the entries are the same snapshot while it is not purged.
    for model in (WatchlistManifestEntry, m.WatchlistEntry):
        rows = s.execute(
            select(model.reference_image_id, model.category).where(
                model.watchlist_id == watchlist_id
            )
        )
        snapshot.update({image_id: category for image_id, category in rows})
    subjects = s.execute(
        select(m.Subject.id, m.Subject.category).where(
            m.Subject.id.in_({a.subject_id for a in alerts})
        )
    )
    current = {subject_id: category for subject_id, category in subjects}
    return {
        a.id: snapshot.get(a.reference_image_id) or current.get(a.subject_id) or "unknown"
        for a in alerts
    }


def _results_by_category(
    alerts: list[m.Alert], categories: dict[int, str]
) -> dict[str, dict[str, int]]:
    # Every lawful category and every disposition is present, zeros included, so records of
    # different deployments line up column for column (as size_by_category does).
    table = {c.value: dict.fromkeys(DISPOSITIONS, 0) for c in WatchlistCategory}
    for a in alerts:
        row = table.setdefault(categories[a.id], dict.fromkeys(DISPOSITIONS, 0))
        key = disposition(a)
        row[key] = row.get(key, 0) + 1
    return table


def _alert_purge_times(alerts: list[m.Alert]) -> dict[int, datetime | None]:
    """alert id -> when its data was purged (None: purged, time not recorded); absent: not
    purged. A missing probe crop counts as purged even without a time, so that a purge which
    predates ``purged_at`` is not reported as data still held."""
    found: dict[int, datetime | None] = {}
    for a in alerts:
        if a.purged_at is not None or a.probe_crop_blob is None:
            found[a.id] = a.purged_at
    return found


def _deletion(
    ctx: AppContext,
    dep: m.Deployment,
    wl: m.Watchlist | None,
    last_end: datetime,
    alerts: list[m.Alert],
    purges: dict[int, datetime | None],
) -> dict[str, Any]:
    """Deletion times achieved (R9, R10), stated honestly: not yet purged says so."""
    now = utcnow()
    ended = dep.status == m.DeploymentStatus.ENDED.value
    # The actual end where the run recorded one: the cameras stopped then.
    end = dep.ended_at or dep.end_at
    due = watchlist_purge_due(max(end, last_end), ctx.settings.governance)
    purged_at = wl.purged_at if wl else None
    hours = round((purged_at - end).total_seconds() / 3600, 2) if purged_at else None
    if purged_at is not None:
        state = "purged on time" if purged_at <= due else "purged late"
    elif not ended:
        state = "deployment not ended"
    elif last_end > end:
        state = "kept for a later deployment"  # the same snapshot is searched again
    else:
        state = "overdue: not yet purged" if now > due else "not yet purged"
    days = [
        (at - a.raised_at).total_seconds() / 86400
        for a in alerts
        if (at := purges.get(a.id)) is not None
    ]
    # Kept beyond R10's period only while an outcome after an arrest may need it as evidence.
    kept = sum(1 for a in alerts if a.id not in purges and a.outcome in KEEP_ALERT_OUTCOMES)
    retention = ctx.settings.governance.alert_retention_days
    return {
        "deployment_end": end.isoformat(),
        "watchlist_purge_due": due.isoformat(),
        "watchlist_purged_at": purged_at.isoformat() if purged_at else None,
        "watchlist_purge_hours_after_end": hours,
        "watchlist_purge": state,
        "alert_data_purged": len(purges),
        "alert_data_kept_for_outcome": kept,
        "alert_data_not_yet_purged": len(alerts) - len(purges) - kept,
        "alert_data_overdue": sum(
            1
            for a in alerts
            if a.id not in purges
            and a.outcome not in KEEP_ALERT_OUTCOMES
            and (now - a.raised_at).total_seconds() > retention * 86400
        ),
        "alert_data_max_days_to_purge": round(max(days), 2) if days else None,
        "alert_data_median_days_to_purge": round(statistics.median(days), 2) if days else None,
    }
