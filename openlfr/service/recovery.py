"""A deployment whose runner died is ended, not left `live` for ever (non-negotiable 5).

A runner beats a heartbeat: every counter save and every supervisor poll (~2 s) sets
``deployment_counters.updated_at``. A killed process (SIGKILL, OOM, power cut) beats no more, and
nothing else would ever end its deployment: the web would show it live, `openlfr deployment stop`
would wait for a runner that is gone, and its end would never fix its watchlist's purge (R9).

``recover_abandoned_runs`` ends every live deployment whose latest heartbeat (of any of its
cameras; the run's start when none saved one) is older than ``video.runner_lost_after_s``: status
``ended``, ``ended_at`` = the last heartbeat (the last moment the run is known to have worked),
each camera still open ended then with "runner lost (no heartbeat since ...)", the deployment's
``end_reason``/``run_failed`` set (``lost_end``), audited as an alteration by
``system:run-recovery``. It runs at `openlfr purge`, at the start of every run and in the
operator service's polling loop. What the dead runner had saved stays as it was: its
alerts (each written whole in its own transaction) and its counters up to the last save.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from openlfr.service.context import AppContext
from openlfr.store import AuditAction, DeploymentStatus, append_audit
from openlfr.store import models as m

#: Who the audit log names: no person ended the run; its silence did.
RECOVERY_ACTOR = "system:run-recovery"


@dataclass(frozen=True)
class RecoveredRun:
    deployment_id: int
    last_heartbeat: datetime
    reason: str


def lost_reason(last: datetime) -> str:
    return f"runner lost (no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC)"


def lost_end(reason: str, *, ran: bool) -> tuple[str, bool]:
    """The deployment's (end_reason, run_failed) for a lost run; ``ran``: it left any sign of a
    frame analysed (saved frame counts or an alert).

    The end reason is the loss itself, so the deployment page and the record say why it ended
    instead of nothing. It failed ("did not run") only when it left no such sign, the test
    ``describe_end`` applies to a run that ends by itself: a run that searched faces before it
    was lost did run and its figures count; one killed before its first frame searched nobody,
    and a published record must not list it as a deployment that saw nobody. (A runner killed
    in its first 2 s may have analysed frames it never saved: nothing of them is recorded, so
    for the record it did not run either.)
    """
    if not ran:
        return f"did not run: {reason}", True
    return reason, False


def recover_abandoned_runs(ctx: AppContext, now: datetime) -> list[RecoveredRun]:
    """Ends each live deployment whose runner has been silent longer than the stale limit at
    ``now``; returns what was ended. Writes nothing when no run is stale."""
    stale = timedelta(seconds=ctx.settings.video.runner_lost_after_s)
    found: list[RecoveredRun] = []
    with ctx.store.session() as s:
        live = list(
            s.execute(
                select(m.Deployment.id, m.Deployment.started_at).where(
                    m.Deployment.status == DeploymentStatus.LIVE.value
                )
            )
        )
    for dep_id, started_at in live:
        with ctx.store.session() as s:
            counters = list(
                s.scalars(
                    select(m.DeploymentCounter).where(m.DeploymentCounter.deployment_id == dep_id)
                )
            )
            beats = [c.updated_at or c.started_at for c in counters]
            last = max(beats) if beats else started_at
            if last is None or now - last <= stale:
                continue
            reason = lost_reason(last)
            alerted = s.scalar(select(m.Alert.id).where(m.Alert.deployment_id == dep_id).limit(1))
            ran = any(c.frames for c in counters) or alerted is not None
            end_reason, run_failed = lost_end(reason, ran=ran)
            ended = s.execute(  # conditional: a second recoverer (or the runner) got there first
                update(m.Deployment)
                .where(
                    m.Deployment.id == dep_id,
                    m.Deployment.status == DeploymentStatus.LIVE.value,
                )
                .values(
                    status=DeploymentStatus.ENDED.value,
                    ended_at=last,
                    end_reason=end_reason,
                    run_failed=run_failed,
                )
            )
            if ended.rowcount != 1:  # type: ignore[attr-defined]
                continue
            for c in counters:
                if c.ended_at is None:
                    c.ended_at, c.end_reason = c.updated_at or c.started_at, reason
            append_audit(
                s,
                actor=RECOVERY_ACTOR,
                action=AuditAction.ALTERATION,
                event="deployment_runner_lost",
                object_type="deployment",
                object_id=dep_id,
                justification=f"deployment ended: {reason}; found by {ctx.actor} at "
                f"{now:%Y-%m-%d %H:%M:%S} UTC",
            )
            found.append(RecoveredRun(dep_id, last, reason))
    return found
