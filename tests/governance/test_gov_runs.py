"""The runner applies retention on a schedule and stops at the end of its authorised window.

Both runs play WDA_KatieHill's clip paced in real time (``video.realtime``) under a window that
closes ~3 s after it opens, so each test takes ~3 s whatever the machine's speed.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from gov_support import CLIP, add_deployment, audit_rows, enrol, open_ctx
from sqlalchemy import select

from openlfr.service.case_outcomes import record_case_outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import (
    DeploymentDraft,
    authorise_deployment,
    create_deployment,
)
from openlfr.service.purge_schedule import SCHEDULER_ACTOR
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store import verify_audit
from openlfr.vision.protocols import Detector, Embedder

WINDOW_S = 3.0


def _authorised(ctx: AppContext, watchlist_id: int, seconds: float) -> int:
    """A deployment authorised from a minute ago until ``seconds`` from now."""
    now = utcnow()
    draft = DeploymentDraft(
        name="Operation Window",
        purpose="locate a wanted suspect",
        location="High Street",
        location_reason="sightings reported there",
        start=now - timedelta(minutes=1),
        end=now + timedelta(seconds=seconds),
        watchlist_id=watchlist_id,
        cameras=[("cam1", str(CLIP))],
        equality_note="threshold at the calibrated floor; demographic review done",
    )
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(
        ctx, dep_id, officer="A Smith", rank="superintendent", reasons="sightings reported"
    )
    return dep_id


def test_live_deployment_stops_by_itself_when_its_window_ends(
    tmp_path: Path, models: tuple[Detector, Embedder]
) -> None:
    ctx = open_ctx(tmp_path, models, realtime=True)
    try:
        enrol(ctx, "PNC-COOK", [("AJ_Cook", 1, "CUST-C1")])
        wl = compile_watchlist(ctx, "Operation Window")
        dep_id = _authorised(ctx, wl.id, WINDOW_S)

        summary = run_deployment(ctx, dep_id)

        [camera] = summary.cameras
        assert camera.end_reason == "authorised window ended"
        # The clip lasts 8 s at 25 fps: it was cut off by the window, not by its end.
        assert 20 < camera.frames < 150, camera.frames
        assert summary.seconds < WINDOW_S + 2.5
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, dep_id)
            assert dep is not None and dep.status == "ended" and dep.ended_at is not None
            assert dep.ended_at >= dep.end_at
            counter = s.scalar(
                select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
            )
            assert counter is not None and counter.end_reason == "authorised window ended"
        # R9: the end fixed when the watchlist must go.
        assert summary.watchlist_purge_due is not None
        assert summary.watchlist_purge_due - dep.ended_at == timedelta(hours=24)
    finally:
        ctx.close()


def test_scheduled_purge_runs_during_a_deployment_and_drops_withdrawn_images(
    tmp_path: Path, models: tuple[Detector, Embedder]
) -> None:
    # 0.01 min = 0.6 s between purges: several ticks inside the 3 s window.
    ctx = open_ctx(tmp_path, models, realtime=True, governance={"purge_interval_minutes": 0.01})
    try:
        cook = enrol(ctx, "PNC-COOK", [("AJ_Cook", 1, "CUST-C1")])
        gul = enrol(
            ctx, "PNC-GUL", [("Abdullah_Gul", 1, "CUST-G1"), ("Abdullah_Gul", 2, "CUST-G2")]
        )
        # A past deployment whose watchlist is overdue: the purge at start deletes it.
        old = compile_watchlist(ctx, "Operation Past")
        add_deployment(ctx, old.id, end=utcnow() - timedelta(days=2))
        wl = compile_watchlist(ctx, "Operation Window")
        dep_id = _authorised(ctx, wl.id, WINDOW_S)

        # A custody system reports NFA for one of his cases while the deployment runs.
        outcome = threading.Timer(1.0, record_case_outcome, (ctx, "CUST-G1", "nfa"))
        outcome.start()
        summary = run_deployment(ctx, dep_id)
        outcome.join()

        assert summary.cameras[0].end_reason == "authorised window ended"
        assert not summary.purge_errors
        assert summary.purge_runs >= 3  # at start, at least one tick, and after the end
        # Both of his images left the live search; the other subject's stayed.
        assert sorted(summary.withdrawn_during_run) == sorted(gul)
        [rebuilt] = audit_rows(ctx, event="gallery_rebuilt")
        assert rebuilt.action == "consultation"
        assert rebuilt.object_id == ",".join(map(str, sorted(gul)))
        assert not set(cook) & set(summary.withdrawn_during_run)
        with ctx.store.session() as s:
            past = s.get(m.Watchlist, old.id)
            assert past is not None and past.purged_at is not None
            live = s.get(m.Watchlist, wl.id)
            assert live is not None and live.purged_at is None  # due 24 h after this end
            g1 = s.get(m.ReferenceImage, gul[0])
            assert g1 is not None and g1.erased_at is not None  # erased by a later tick
        erasures = audit_rows(ctx, action="erasure")
        assert {e.event for e in erasures} == {"watchlist_purged", "reference_image_erased"}
        assert all(e.actor == SCHEDULER_ACTOR for e in erasures)
        with ctx.store.session() as s:
            assert verify_audit(s).ok
    finally:
        ctx.close()
