"""R19 advance notice, through the service on a real store: authorising puts the notice up
(or records its withholding for a listed reason), a run waits for the notice period, and a
notice is refused for a deployment that has none."""

from __future__ import annotations

import pytest
from acc_support import SUPT, OpenCtx, draft, enrol
from sqlalchemy import delete, select

from openlfr.errors import RuleViolation
from openlfr.service.deployments import AuthorisationRefused, authorise_deployment
from openlfr.service.evaluation_authorisation import authorise_for_evaluation
from openlfr.service.notices import list_notices, notice_of
from openlfr.service.runs import check_may_run, run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.models_accountability import DeploymentNotice


def _may_run(ctx, dep_id: int) -> None:  # type: ignore[no-untyped-def]
    with ctx.store.session() as s:
        check_may_run(s.get(m.Deployment, dep_id), dep_id)


def _audit(ctx, event: str) -> list[m.AuditEntry]:  # type: ignore[no-untyped-def]
    with ctx.store.session() as s:
        rows = list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.event == event)))
        s.expunge_all()
        return rows


def test_notice_goes_up_and_the_run_waits_for_it(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(24)
    enrol(ctx, "PNC-N1", "AJ_Cook")
    wl = compile_watchlist(ctx, "Op Notice")
    # Starts in 25 h for 4 h: a 24 h notice put up now passes before the window opens.
    later = draft(ctx, wl.id, hours_from_now=25)
    authorise_deployment(ctx, later, **SUPT, reasons="wanted on warrant")
    notice = notice_of(ctx, later)
    assert notice.area == "Market Square" and notice.authorising_rank == "superintendent"
    sizes = notice.watchlist_size_by_category
    assert {k: v for k, v in sizes.items() if v} == {"wanted_by_courts": 1}
    assert notice.watchlist_size == 1
    assert notice.notice_hours == 24 and "dpo@force.example" in notice.contact
    assert [n.notice_id for n in list_notices(ctx)] == [notice.notice_id]
    assert "Name of" not in str(notice.as_dict()) and "PNC-N1" not in str(notice.as_dict())
    assert _audit(ctx, "notice_published")[0].object_id == str(later)

    # Opens now for 12 h with 6 h notice: authorisable (the notice passes inside the window),
    # but not runnable until 6 h after it went up.
    now_dep = draft(ctx, wl.id, length_hours=12)
    ctx12 = open_ctx(6)
    authorise_deployment(ctx12, now_dep, **SUPT, reasons="wanted on warrant")
    with pytest.raises(RuleViolation) as refused:
        _may_run(ctx12, now_dep)
    assert refused.value.rule == "R19" and "may start from" in str(refused.value)
    with ctx.store.session() as s:
        row = s.scalar(select(DeploymentNotice).where(DeploymentNotice.deployment_id == now_dep))
        assert row is not None and row.published_at is not None
        assert (row.may_start_at - row.published_at).total_seconds() == pytest.approx(6 * 3600)


def test_a_window_the_notice_cannot_reach_is_refused_unless_withheld(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(24)
    enrol(ctx, "PNC-N2", "Abdullah_Gul")
    wl = compile_watchlist(ctx, "Op Urgent")
    dep = draft(ctx, wl.id, length_hours=4)
    with pytest.raises(AuthorisationRefused) as refused:
        authorise_deployment(ctx, dep, **SUPT, reasons="urgent")
    assert [v.rule for v in refused.value.violations] == ["R19"]
    # Not on the list, or no note: refused, nothing written.
    for bad in ({"withhold_notice": "operational convenience", "withhold_note": "x"},
                {"withhold_notice": "threat_to_life", "withhold_note": " "}):  # fmt: skip
        with pytest.raises(AuthorisationRefused) as again:
            authorise_deployment(ctx, dep, **SUPT, reasons="urgent", **bad)
        assert [v.rule for v in again.value.violations] == ["R19"]
    with ctx.store.session() as s:
        assert s.get(m.Deployment, dep).status == "draft"
        assert s.scalar(select(DeploymentNotice.id)) is None
    authorise_deployment(ctx, dep, **SUPT, reasons="urgent", withhold_notice="threat_to_life",
                         withhold_note="credible threat to a named witness today")  # fmt: skip
    _may_run(ctx, dep)  # withheld for a listed reason: it may start at once
    assert list_notices(ctx) == []  # withheld: not published ...
    withheld = _audit(ctx, "notice_withheld")  # ... but audited, with the reason
    assert len(withheld) == 1 and "threat to life" in withheld[0].justification
    with pytest.raises(RuleViolation, match="withheld") as why:
        notice_of(ctx, dep)
    assert why.value.rule == "R19"


def test_no_notice_for_a_deployment_not_authorised(open_ctx: OpenCtx) -> None:
    ctx = open_ctx(0)
    enrol(ctx, "PNC-N3", "AJ_Cook")
    wl = compile_watchlist(ctx, "Op Draft")
    dep = draft(ctx, wl.id)
    with pytest.raises(RuleViolation, match="not authorised") as refused:
        notice_of(ctx, dep)
    assert refused.value.rule == "R19"
    with pytest.raises(RuleViolation, match="does not exist"):
        notice_of(ctx, dep + 100)
    # With no notice period (the test default, and the demo's) it may run at once.
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    _may_run(ctx, dep)


def test_a_deployment_with_no_notice_row_does_not_start(open_ctx: OpenCtx) -> None:
    """R5 extended: no notice on record (as for one authorised before notices existed) is no
    licence to start, even with a notice period of zero."""
    ctx = open_ctx(0)
    enrol(ctx, "PNC-N4", "AJ_Cook")
    dep = draft(ctx, compile_watchlist(ctx, "Op Old").id)
    authorise_deployment(ctx, dep, **SUPT, reasons="wanted")
    with ctx.store.session() as s:  # what a store authorised before migration 0012 holds
        s.execute(delete(DeploymentNotice).where(DeploymentNotice.deployment_id == dep))
    with pytest.raises(RuleViolation, match="no public notice on record") as refused:
        run_deployment(ctx, dep)
    assert refused.value.rule == "R19"
    [row] = _audit(ctx, "run_refused")
    assert row.object_id == str(dep) and "R19" in row.justification
    with ctx.store.session() as s:
        assert s.get(m.Deployment, dep).status == "authorised"  # type: ignore[union-attr]


def test_an_evaluation_authorisation_puts_a_zero_notice_up(open_ctx: OpenCtx) -> None:
    """`openlfr eval video`'s synthetic authorisation runs at once on its throw-away store
    because it records a notice with a zero period, and is refused on a store with a period."""
    for hours in (0, 24):
        ctx = open_ctx(hours)
        enrol(ctx, f"PNC-EV{hours}", "AJ_Cook")
        dep = draft(ctx, compile_watchlist(ctx, f"Op Eval {hours}").id)
        if hours:
            with pytest.raises(RuleViolation, match="throw-away store") as refused:
                authorise_for_evaluation(ctx, dep, 0.5)
            assert refused.value.rule == "R19"
            with ctx.store.session() as s:
                assert s.get(m.Deployment, dep).status == "draft"  # type: ignore[union-attr]
            continue
        authorise_for_evaluation(ctx, dep, 0.5)
        _may_run(ctx, dep)
        notice = notice_of(ctx, dep)
        assert notice.notice_hours == 0 and "evaluation" in notice.authorising_rank
