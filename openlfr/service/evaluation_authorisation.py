"""The synthetic authorisation of an evaluation run (`openlfr eval video`).

An evaluation is not a deployment: it runs on a throw-away store that is deleted with its
folder, so no officer is asked. The write lives here, with every other write to the store, and
is audited like a real authorisation so the throw-away log is complete while it exists."""

from __future__ import annotations

from openlfr.service.context import AppContext, utcnow
from openlfr.service.notices import publish_throwaway_notice
from openlfr.store import AuditAction, append_audit
from openlfr.store import models as m
from openlfr.store.integrity import bind

EVALUATION_AUTHORISER = "evaluation (throw-away store)"


def authorise_for_evaluation(ctx: AppContext, deployment_id: int, threshold: float) -> None:
    with ctx.store.session() as s:
        dep = s.get(m.Deployment, deployment_id)
        if dep is None:
            raise ValueError(f"deployment {deployment_id} does not exist")
        dep.status = "authorised"
        dep.threshold = threshold
        dep.authorised_by = EVALUATION_AUTHORISER
        dep.authoriser_rank = "n/a"
        dep.authorised_at = utcnow()
        bind(s, dep)  # issue 9 (H3): a run verifies its authorisation's binding
        publish_throwaway_notice(s, ctx, dep)  # R19: a run starts only on a recorded notice
        append_audit(
            s,
            actor=ctx.actor,
            action=AuditAction.ALTERATION,
            event="deployment_authorised",
            object_type="deployment",
            object_id=deployment_id,
            justification="synthetic authorisation of an evaluation run on a throw-away store",
        )
