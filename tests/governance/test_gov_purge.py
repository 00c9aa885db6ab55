"""`purge` and `purge --dry-run` (R9, R10, R11) and who was on a purged watchlist (R16).

The world's deployment ended at END; its nine alerts were raised an hour before, one per
(status, outcome). Each test passes the purge a "now" instead of waiting for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from gov_support import (
    ALERTS,
    END,
    RAISED,
    World,
    add_deployment,
    audit_rows,
    cli,
    dump,
    login_env,
)
from sqlalchemy import func, select

from openlfr.service.context import AppContext
from openlfr.service.retention import purge
from openlfr.service.watchlist_members import watchlist_members
from openlfr.service.watchlists import watchlist_summary
from openlfr.store import models as m
from openlfr.store import verify_audit

DAY = timedelta(days=1)


def _kinds(report_steps: object) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for step in report_steps:  # type: ignore[attr-defined]
        out.setdefault(step.kind, []).append(step.ref)
    return out


def test_dry_run_changes_nothing_and_plans_what_the_purge_does(
    ctx: AppContext, world: World
) -> None:
    now = RAISED + 40 * DAY  # everything is due
    before = dump(ctx)

    planned = purge(ctx, now=now, dry_run=True)

    assert dump(ctx) == before  # every row of every table, blobs included
    kinds = _kinds(planned.steps)
    assert kinds["watchlist"] == [world.watchlist_id]
    assert len(kinds["alert"]) == sum(1 for *_, kept in ALERTS if not kept)
    assert planned.dry_run and not any(step.done for step in planned.steps)

    applied = purge(ctx, now=now)
    assert [(s.kind, s.ref) for s in applied.steps] == [(s.kind, s.ref) for s in planned.steps]
    assert all(step.done for step in applied.steps)


@pytest.mark.parametrize(
    ("now", "watchlist_due", "alerts_due"),
    [
        (END + timedelta(hours=23, minutes=59), False, False),  # R9: within 24 h of the end
        (END + timedelta(hours=24), True, False),  # R9: its deadline
        (RAISED + 31 * DAY - timedelta(seconds=1), True, False),  # R10: a second early
        (RAISED + 31 * DAY, True, True),  # R10: 31 days after the alert
    ],
    ids=["end+23h59", "end+24h", "alert+31d-1s", "alert+31d"],
)
def test_purge_deletes_exactly_what_is_due(
    ctx: AppContext, world: World, now: datetime, watchlist_due: bool, alerts_due: bool
) -> None:
    report = purge(ctx, now=now)

    with ctx.store.session() as s:
        wl = s.get(m.Watchlist, world.watchlist_id)
        assert wl is not None
        entries = s.scalar(
            select(func.count())
            .select_from(m.WatchlistEntry)
            .where(m.WatchlistEntry.watchlist_id == wl.id)
        )
        assert (wl.purged_at == now) is watchlist_due
        assert (entries == 0) is watchlist_due
        for status, outcome, kept in ALERTS:
            alert = s.get(m.Alert, world.alerts[(status, outcome)])
            assert alert is not None
            purged = alerts_due and not kept
            assert (alert.probe_crop_blob is None) is purged, (status, outcome)
            assert (alert.purged_at == now) is purged
            if not purged:  # what is kept still decrypts
                assert ctx.store.unseal(alert, "probe_crop_blob").startswith(b"crop of track")
        # The counts rows stay: a purge never deletes an alert, only its image.
        assert s.scalar(select(func.count()).select_from(m.Alert)) == len(ALERTS)
        # No image was withdrawn: every case here is still "charged".
        assert not s.scalars(
            select(m.ReferenceImage).where(m.ReferenceImage.erased_at.is_not(None))
        ).all()

    assert report.count("watchlist") == int(watchlist_due)
    assert report.count("alert") == (sum(1 for *_, k in ALERTS if not k) if alerts_due else 0)
    # Run again at the same time: nothing more is due.
    assert purge(ctx, now=now).steps == ()


def test_every_erasure_is_audited_and_the_chain_still_verifies(
    ctx: AppContext, world: World
) -> None:
    report = purge(ctx, now=RAISED + 32 * DAY, actor="pc.purger")
    erasures = audit_rows(ctx, action="erasure")
    assert len(erasures) == len(report.steps) == 1 + sum(1 for *_, k in ALERTS if not k)
    by_event = {e.event: e for e in erasures}
    assert set(by_event) == {"watchlist_purged", "alert_data_purged"}
    assert by_event["watchlist_purged"].object_id == str(world.watchlist_id)
    assert "R9" in by_event["watchlist_purged"].justification
    assert "Home Office and force practice" in by_event["watchlist_purged"].justification
    for entry in erasures:
        assert entry.actor == "pc.purger"
        assert (
            entry.event == "watchlist_purged" or "R10 (R10; force practice)" in entry.justification
        )
    purged_alerts = {int(e.object_id) for e in erasures if e.event == "alert_data_purged"}
    assert purged_alerts == {world.alerts[(s, o)] for s, o, kept in ALERTS if not kept}
    with ctx.store.session() as s:
        result = verify_audit(s)
    assert result.ok, result.reason


def test_who_was_on_the_watchlist_is_answerable_after_its_purge(
    ctx: AppContext, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = watchlist_members(ctx, world.watchlist_id, justification="complaint review")
    size_before = watchlist_summary(ctx, world.watchlist_id)
    assert before.purged_at is None and before.hash_matches

    purge(ctx, now=END + DAY)

    after = watchlist_members(ctx, world.watchlist_id, justification="complaint review")
    assert after.purged_at == END + DAY
    assert after.members == before.members  # the same identifiers, in the same order
    assert after.hash_matches  # and they hash to the list frozen when it was compiled (R6)
    assert after.deployments == (world.deployment_id,)
    assert {x.subject_ref for x in after.members} == {"PNC-GUL", "PNC-BRODY", "PNC-COOK"}
    assert {x.reference_image_id for x in after.members} == {
        i for ids in world.images.values() for i in ids
    }
    # Identifiers only: nothing in a member is an image or a vector.
    for member in after.members:
        # (reason None: these subjects were enrolled without a reason wanted, issue 13)
        assert all(isinstance(v, str | int | None) for v in member.__dict__.values())
        assert len(member.image_sha256) == 64
    # The published size by category survives the purge too (R14 records read it).
    size_after = watchlist_summary(ctx, world.watchlist_id)
    assert size_after.size_by_category == size_before.size_by_category
    assert size_after.purged_at == END + DAY

    consultations = audit_rows(ctx, event="watchlist_members")
    assert len(consultations) == 2 and all(c.action == "consultation" for c in consultations)
    assert consultations[-1].justification == "complaint review"

    # The CLI answers the same question (and logs it as a consultation too).
    result = cli(
        ctx,
        monkeypatch,
        ["watchlist", "members", str(world.watchlist_id)],
        login_env(ctx, "pc.cli", "auditor"),
    )
    assert result.exit_code == 0, result.output
    for ref in ("PNC-GUL", "PNC-BRODY", "PNC-COOK", "purged", "matches"):
        assert ref in result.stdout
    assert audit_rows(ctx, event="watchlist_members")[-1].actor == "pc.cli"


def test_purge_waits_for_the_last_deployment_that_searched_a_watchlist(
    ctx: AppContext, world: World
) -> None:
    add_deployment(ctx, world.watchlist_id, end=END + 2 * DAY, status="authorised")
    report = purge(ctx, now=END + DAY)
    assert report.count("watchlist") == 0
    assert report.next_due == END + 3 * DAY


def test_cli_purge_dry_run_prints_the_plan_and_changes_nothing(
    ctx: AppContext, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The world ended in 2026-03; the CLI purges as of the real clock, so all is due by now+.
    from openlfr.service import retention

    later = RAISED + 40 * DAY
    monkeypatch.setattr(retention, "utcnow", lambda: later)
    before = dump(ctx)

    dry = cli(ctx, monkeypatch, ["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dump(ctx) == before
    out = dry.stdout
    assert "dry run" in out and "R9" in out and "R10" in out and "would do" in out

    real = cli(ctx, monkeypatch, ["purge"])
    assert real.exit_code == 0, real.output
    assert "purge did: 1 watchlist, 6 alert" in real.stdout
    again = cli(ctx, monkeypatch, ["purge"])
    assert "nothing is due" in again.stdout
