"""A killed process loses nothing (non-negotiable 5): a real `openlfr deployment run` process is
SIGKILLed mid-run, on a clip paced in real time, on SQLite and on PostgreSQL. What it had saved
must be whole - counters (saved every 2 s), the alert row and its sealed crop, the audit chain,
the SQLite file (WAL recovered on the next open) - and its deployment, left `live` by the dead
runner, is ended as "runner lost" once its heartbeat is older than the stale limit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from resil_support import login_env
from sqlalchemy import select, text
from store_support import store_env
from suite import REPO

from openlfr.service.context import AppContext, utcnow
from openlfr.service.recovery import RECOVERY_ACTOR, recover_abandoned_runs
from openlfr.service.run_control import COUNTER_SAVE_S
from openlfr.store import models as m
from openlfr.store import open_store, verify_audit


def _state(
    ctx: AppContext, dep_id: int
) -> tuple[m.Deployment, list[m.DeploymentCounter], list[m.Alert]]:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, dep_id)
        counters = list(
            s.scalars(
                select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
            )
        )
        alerts = list(s.scalars(select(m.Alert).where(m.Alert.deployment_id == dep_id)))
    assert dep is not None
    return dep, counters, alerts


@pytest.mark.slow
def test_sigkill_mid_run_loses_nothing_and_recovery_ends_the_run(
    ctx: AppContext, katie_deployment: int, store_dir: Path
) -> None:
    dep_id = katie_deployment
    env = {**os.environ, **store_env(ctx.settings.store), **login_env(ctx.store, "operator"),
           "OPENLFR_VIDEO__REALTIME": "true", "COLUMNS": "200"}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "openlfr", "--store-dir", str(store_dir),
         "deployment", "run", str(dep_id)],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # Generous: on a loaded machine the models alone may take a while to load.
        deadline = time.monotonic() + 120
        while True:  # counters saved and an alert stored, with the clip still playing (8 s)
            dep, counters, alerts = _state(ctx, dep_id)
            if counters and counters[0].frames > 0 and alerts:
                break
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "no alert and saved counters within 120 s"
            time.sleep(0.1)
        time.sleep(0.5)  # mid-save or not, whatever the kill hits must be whole
        proc.send_signal(signal.SIGKILL)
        killed_at = utcnow()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    # The store opens cleanly in a fresh process-like open (SQLite: WAL replayed), nothing corrupt.
    ctx.store.dispose()
    reopened = open_store(ctx.settings.store)
    try:
        if reopened.engine.dialect.name == "sqlite":
            with reopened.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with reopened.session() as s:
            assert verify_audit(s).ok
            dep = s.get(m.Deployment, dep_id)
            assert dep is not None and dep.status == "live"  # the dead runner could not end it
            (counter,) = s.scalars(
                select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
            )
            alerts = list(s.scalars(select(m.Alert).where(m.Alert.deployment_id == dep_id)))
            assert counter.frames > 0 and counter.ended_at is None
            assert counter.updated_at is not None
            # Counters and heartbeat saved every COUNTER_SAVE_S: only the last few seconds are
            # lost to the kill (the bound allows for a runner starved on a loaded machine).
            silent = (killed_at - counter.updated_at).total_seconds()
            assert 0 <= silent < 4 * COUNTER_SAVE_S, silent
            assert alerts
            for alert in alerts:
                crop = reopened.unseal(alert, "probe_crop_blob")
                image = cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR)
                assert image is not None and image.size > 0
            last_beat = counter.updated_at
    finally:
        reopened.dispose()

    # Recovery: nothing while the heartbeat is within the stale limit ...
    stale_s = ctx.settings.video.runner_lost_after_s
    assert stale_s >= 15 * COUNTER_SAVE_S
    assert recover_abandoned_runs(ctx, last_beat + timedelta(seconds=stale_s - 1)) == []
    assert _state(ctx, dep_id)[0].status == "live"
    # ... then the deployment ends as lost, at its last heartbeat, audited, once.
    (run,) = recover_abandoned_runs(ctx, last_beat + timedelta(seconds=stale_s + 1))
    assert run.deployment_id == dep_id and run.last_heartbeat == last_beat
    dep, counters, _ = _state(ctx, dep_id)
    assert dep.status == "ended" and dep.ended_at == last_beat
    assert (dep.end_reason, dep.run_failed) == (run.reason, False)  # it ran: frames were saved
    (counter,) = counters
    assert counter.end_reason == run.reason
    assert counter.end_reason.startswith("runner lost (no heartbeat since ")
    assert f"{last_beat:%Y-%m-%d %H:%M:%S} UTC)" in counter.end_reason
    assert counter.ended_at == last_beat and counter.frames > 0
    with ctx.store.session() as s:
        assert verify_audit(s).ok
        entry = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.event == "deployment_runner_lost")
        ).one()
        assert entry.actor == RECOVERY_ACTOR and entry.object_id == str(dep_id)
        assert "runner lost" in entry.justification and "pc.tester" in entry.justification
    assert recover_abandoned_runs(ctx, utcnow() + timedelta(hours=1)) == []
