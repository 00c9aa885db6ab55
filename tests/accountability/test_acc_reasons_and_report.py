"""Reason wanted (closed list, mapped to the lawful category, R1) through enrolment, and the
period report's arrests and outcomes by reason wanted with small counts suppressed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from acc_support import LFW, SUPT, OpenCtx, draft, enrol
from sqlalchemy import func, select

from openlfr.errors import RuleViolation
from openlfr.reports import aggregate, to_html, to_json
from openlfr.service.deployments import authorise_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.models_accountability import SubjectReason


def test_a_reason_that_does_not_fit_the_category_is_refused_before_any_write(
    open_ctx: OpenCtx,
) -> None:
    ctx = open_ctx(0)
    spec = ImageSpec(LFW / "AJ_Cook" / "AJ_Cook_0001.jpg", "CUST-1", "PACE s64A", "charged")
    for category, reason, says in (
        ("mappa", "failing_to_appear", "belongs to the category 'wanted_by_courts'"),
        ("suspect", "persons of interest", "not on the list"),
    ):
        with pytest.raises(RuleViolation, match=says) as refused:
            enrol_subject(ctx, reference="PNC-R1", display_name="R", category=category,
                          images=[spec], reason_wanted=reason)  # fmt: skip
        assert refused.value.rule == "R1"
    with ctx.store.session() as s:
        assert s.scalar(select(func.count(m.Subject.id))) == 0
        assert s.scalar(select(func.count(m.AuditEntry.id))) == 0
    enrol(ctx, "PNC-R2", "AJ_Cook", "court_conditions", "breach_sexual_offence_conditions")
    with ctx.store.session() as s:
        row = s.scalar(select(SubjectReason))
        assert row is not None and row.reason == "breach_sexual_offence_conditions"
        events = s.scalars(select(m.AuditEntry.event).where(m.AuditEntry.object_type == "subject"))
        assert "reason_wanted" in list(events)


def _alerts(ctx, dep_id: int, subject_ref: str, outcomes: list[str]) -> None:  # type: ignore[no-untyped-def]
    with ctx.store.session() as s:
        sid = s.scalar(select(m.Subject.id).where(m.Subject.reference == subject_ref))
        img = s.scalar(select(m.ReferenceImage.id).where(m.ReferenceImage.subject_id == sid))
        cam = s.scalar(select(m.Camera.id).where(m.Camera.deployment_id == dep_id))
        for track, outcome in enumerate(outcomes):
            s.add(m.Alert(deployment_id=dep_id, camera_id=cam, track_id=track, subject_id=sid,
                          reference_image_id=img, score=0.6, margin=0.2, first_frame=1,
                          last_frame=2, status="confirmed", outcome=outcome))  # fmt: skip
        dep = s.get(m.Deployment, dep_id)
        dep.status, dep.started_at, dep.ended_at = "ended", dep.start_at, dep.end_at


def test_report_by_reason_wanted_suppresses_small_counts(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(0)
    enrol(ctx, "PNC-FTA", "AJ_Cook", "wanted_by_courts", "failing_to_appear")
    enrol(ctx, "PNC-VAWG", "Abdullah_Gul", "suspect", "vawg_offence")
    wl = compile_watchlist(ctx, "Op Report")
    dep = draft(ctx, wl.id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    fta = ["charged_or_cautioned"] * 4 + ["bailed_or_released_under_investigation"] * 2
    _alerts(ctx, dep, "PNC-FTA", [*fta, "no_further_action"])
    _alerts(ctx, dep, "PNC-VAWG", ["charged_or_cautioned", "charged_or_cautioned"])
    now = datetime.now(UTC)
    rep = aggregate(ctx, now - timedelta(days=1), now + timedelta(days=1))
    rows = {r.reason: r for r in rep.accountability.by_reason}
    assert rows["failing_to_appear"].arrests == 7  # 4 + 2 + 1: published as it is
    assert rows["failing_to_appear"].outcomes["charged_or_cautioned"] == "<5"  # 4: suppressed
    assert rows["vawg_offence"].arrests == "<5" and rows["mappa_management"].arrests == 0
    body = json.loads(to_json(rep))
    assert body["accountability"]["by_reason"][0]["reason"] == "failing_to_appear"
    assert body["accountability"]["notices_withheld"] == 0
    html = to_html(rep)
    assert 'id="by-reason"' in html and "failing to appear at court" in html
    assert "Outcomes by reason wanted" in html  # the chart's title
    assert "PNC-FTA" not in html and "Name of" not in html
