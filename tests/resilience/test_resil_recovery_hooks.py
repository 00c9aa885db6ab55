"""Recovery runs where the brief says: `openlfr purge`, the start of every run, and the operator
service's polling loop. Each finds a deployment left `live` by a runner that stopped beating
long ago and ends it as "runner lost", audited; a live run that beats is never touched."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from store_support import store_env
from typer.testing import CliRunner

from openlfr.api.live import AlertHub
from openlfr.api.state import ServiceState
from openlfr.cli import app
from openlfr.errors import RuleViolation
from openlfr.reports.model import _public_end_reason
from openlfr.service.context import AppContext, utcnow
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.service.runs import run_deployment
from openlfr.store import models as m
from openlfr.store import verify_audit


def _make_live(ctx: AppContext, dep_id: int, silent_s: float) -> None:
    """What a runner leaves behind when it is killed `silent_s` seconds ago."""
    beat = utcnow() - timedelta(seconds=silent_s)
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None
        dep.status, dep.started_at = "live", beat - timedelta(minutes=5)
        (cam,) = s.scalars(select(m.Camera).where(m.Camera.deployment_id == dep_id))
        s.add(m.DeploymentCounter(deployment_id=dep_id, camera_id=cam.id, frames=1234,
                                  started_at=dep.started_at, updated_at=beat))  # fmt: skip


def _purge_cli(ctx: AppContext, dep_id: int, store_dir: Path) -> str:
    # Retention needs no login (the rules make it due); OPENLFR_ACTOR names the cron job.
    env = {**store_env(ctx.settings.store), "OPENLFR_ACTOR": "pc.cron"}
    result = CliRunner().invoke(app, ["--store-dir", str(store_dir), "purge"], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def _next_run(ctx: AppContext, dep_id: int, store_dir: Path) -> str:
    with pytest.raises(RuleViolation, match="is ended"):  # recovered first, so not runnable
        run_deployment(ctx, dep_id)
    return ""


def _operator_service(ctx: AppContext, dep_id: int, store_dir: Path) -> str:
    AlertHub(ServiceState.open(ctx.settings, store=ctx.store)).recover_lost_runs()
    return ""


@pytest.mark.parametrize("hook", [_purge_cli, _next_run, _operator_service])
def test_each_hook_ends_a_run_whose_runner_was_lost(
    ctx: AppContext, katie_deployment: int, store_dir: Path, hook: object
) -> None:
    dep_id = katie_deployment
    _make_live(ctx, dep_id, silent_s=ctx.settings.video.runner_lost_after_s + 5)
    output = hook(ctx, dep_id, store_dir)  # type: ignore[operator]
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        assert dep is not None and dep.status == "ended"
        (counter,) = s.scalars(
            select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
        )
        assert counter.end_reason and counter.end_reason.startswith("runner lost (no heartbeat")
        assert dep.ended_at == counter.updated_at == counter.ended_at
        assert counter.frames == 1234  # what the runner saved stays
        assert s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.event == "deployment_runner_lost")
        ).one()
        assert verify_audit(s).ok
    if hook is _purge_cli:
        assert f"deployment {dep_id} ended: runner lost" in output
    # Published records say only the kind of ending, not the time.
    assert _public_end_reason(counter.end_reason) == "runner lost"


def test_a_beating_run_is_left_alone(ctx: AppContext, katie_deployment: int) -> None:
    _make_live(ctx, katie_deployment, silent_s=5)
    assert recover_abandoned_runs(ctx, utcnow()) == []
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, katie_deployment)
        assert dep is not None and dep.status == "live"
