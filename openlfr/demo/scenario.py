"""The demo deployment, end to end, through the same services as a real one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from openlfr.demo.material import DemoMaterial
from openlfr.service.alerts import AlertView, list_alerts
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, Refusal, enrol_subject
from openlfr.service.records import deployment_record
from openlfr.service.runs import Progress, RunSummary, run_deployment
from openlfr.service.watchlists import WatchlistSummary, compile_watchlist


@dataclass
class DemoResult:
    watchlist: WatchlistSummary
    deployment_id: int
    run: RunSummary
    alerts: list[AlertView]
    refused: list[Refusal] = field(default_factory=list)
    record: dict[str, Any] = field(default_factory=dict)
    true_alerts: int = 0
    false_alerts: int = 0


def run_demo(ctx: AppContext, mat: DemoMaterial, progress: Progress | None = None) -> DemoResult:
    refused: list[Refusal] = []
    refs = []
    for ident, files in {**mat.references, **mat.decoys}.items():
        specs = [
            ImageSpec(
                f,
                source_ref=f"custody:{ident}:{f.stem}",
                lawful_basis="PACE Code D; DPA 2018 s35",
                case_outcome="charged",
                age_at_capture=30,
            )
            for f in files
        ]
        res = enrol_subject(
            ctx,
            reference=ident,
            display_name=ident.replace("_", " "),
            category="wanted_by_courts" if ident in mat.references else "suspect",
            images=specs,
            several_faces="central",
        )
        refused.extend(res.refused)
        if res.enrolled:
            refs.append(ident)
    for ident, image in mat.ineligible.items():
        # An image from a custody record that ended in no further action: refused (R3).
        res = enrol_subject(
            ctx,
            reference=ident,
            display_name=ident,
            category="suspect",
            images=[
                ImageSpec(
                    image,
                    source_ref=f"custody:{ident}",
                    lawful_basis="PACE Code D; DPA 2018 s35",
                    case_outcome="no_further_action",
                    age_at_capture=30,
                )
            ],
        )
        refused.extend(res.refused)
    wl = compile_watchlist(ctx, "demo operation", refs, justification="demo deployment")
    now = utcnow()
    dep_id = create_deployment(
        ctx,
        DeploymentDraft(
            name="demo operation",
            purpose="locate people wanted on warrant (demonstration)",
            location="demo high street",
            location_reason="demonstration of openlfr",
            start=now - timedelta(minutes=1),
            end=now + timedelta(hours=2),
            watchlist_id=wl.id,
            cameras=mat.cameras,
            equality_note="demonstration: no members of the public present",
        ),
    )
    authorise_deployment(
        ctx,
        dep_id,
        officer="Demo Officer",
        rank="superintendent",
        reasons="demonstration of openlfr on built-in material",
    )
    run = run_deployment(ctx, dep_id, progress=progress)
    alerts = list_alerts(ctx, deployment_id=dep_id, justification="demo summary")
    true = sum(a.subject_ref in mat.expected_alerts for a in alerts)
    return DemoResult(
        wl, dep_id, run, alerts, refused, deployment_record(ctx, dep_id), true, len(alerts) - true
    )
