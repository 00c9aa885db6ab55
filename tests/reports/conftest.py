"""A real store with real deployment runs, built once for the report tests (~10 s).

Two subjects with distinctive references and names are enrolled from the built-in demo material
(the only face in its generated street camera is theirs), each on its own watchlist in its own
category. Deployment A runs with the first: its alert is confirmed and ends in an arrest.
Deployment B runs with the second: its alert is judged a false alert. A third deployment is
authorised for next year (outside the period) and a fourth stays a draft (never a deployment).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from openlfr.config import Settings, StoreSettings
from openlfr.demo.material import builtin_material
from openlfr.service.alerts import adjudicate, list_alerts, record_outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.retention import purge
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.vision.factory import build_detector, build_embedder

# Strings that must never appear in any published output.
PERSONAL = {
    "ref_a": "ZQXREF-7731",
    "name_a": "Zebulon Quartermaine",
    "ref_b": "ZQXREF-9902",
    "name_b": "Philippa Oddsworth",
    "source_a": "custody:ZQX-CUST-55501",
    "source_b": "custody:ZQX-CUST-55502",
    "officer": "Chief Supt Wolfgang Ambersnatch",
    "actor": "pc.quillfeather",
    "reason": "ZQX adjudication reason with a name in it",
}


@dataclass
class Scenario:
    ctx: AppContext
    dep_a: int
    dep_b: int
    dep_future: int
    dep_draft: int
    alert_a: int
    alert_b: int
    wl_a: int
    workdir: Path


def _draft(name: str, wl: int, cams: list[tuple[str, str]], start_in: timedelta) -> DeploymentDraft:
    start = utcnow() + start_in
    return DeploymentDraft(
        name=name,
        purpose="locate people wanted on warrant",
        location="Market Square",
        location_reason="reported sightings",
        start=start,
        end=start + timedelta(hours=2),
        watchlist_id=wl,
        cameras=cams,
        equality_note="threshold at the calibrated floor",
    )


def _enrol(ctx: AppContext, ref: str, name: str, category: str, image: Path, source: str) -> None:
    res = enrol_subject(
        ctx,
        reference=ref,
        display_name=name,
        category=category,
        images=[
            ImageSpec(
                image,
                source_ref=source,
                lawful_basis="PACE Code D; DPA 2018 s35",
                case_outcome="charged",
                age_at_capture=30,
            )
        ],
        several_faces="central",
    )
    assert res.enrolled, res.refused


def _run_one(ctx: AppContext, dep: int) -> int:
    authorise_deployment(
        ctx, dep, officer=PERSONAL["officer"], rank="superintendent", reasons="reports test"
    )
    run_deployment(ctx, dep)
    alerts = list_alerts(ctx, deployment_id=dep, justification="test")
    assert len(alerts) == 1, alerts
    return alerts[0].id


@pytest.fixture
def personal() -> dict[str, str]:
    """What must never be published, each string put in the store by ``scenario``."""
    return dict(PERSONAL)


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    work = tmp_path_factory.mktemp("reports")
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=work / "store")})
    ctx = AppContext.open(settings, actor=PERSONAL["actor"])
    ctx._detector, ctx._embedder = build_detector(settings.vision), build_embedder(settings.vision)
    mat = builtin_material(work)
    (ref_image,) = mat.references["DEMO-0001"]
    # A second, different image of the same face for the second subject: a separate watchlist
    # whose only member is "seen" in the feed, so its alert can be judged a false alert.
    other = work / "custody_second.jpg"
    Image.open(ref_image).rotate(-4).save(other, quality=90)
    try:
        _enrol(ctx, PERSONAL["ref_a"], PERSONAL["name_a"], "wanted_by_courts", ref_image,
               PERSONAL["source_a"])  # fmt: skip
        _enrol(ctx, PERSONAL["ref_b"], PERSONAL["name_b"], "missing_vulnerable", other,
               PERSONAL["source_b"])  # fmt: skip
        wl_a = compile_watchlist(ctx, "Operation Alpha", [PERSONAL["ref_a"]]).id
        wl_b = compile_watchlist(ctx, "Operation Beta", [PERSONAL["ref_b"]]).id
        back = -timedelta(minutes=1)
        dep_a = create_deployment(ctx, _draft("Operation Alpha", wl_a, mat.cameras, back))
        alert_a = _run_one(ctx, dep_a)
        adjudicate(ctx, alert_a, "confirmed", PERSONAL["reason"])
        record_outcome(ctx, alert_a, "arrested", PERSONAL["reason"])
        dep_b = create_deployment(ctx, _draft("Operation Beta", wl_b, mat.cameras, back))
        alert_b = _run_one(ctx, dep_b)
        adjudicate(ctx, alert_b, "false_alert", PERSONAL["reason"])
        # The later deployments search their own snapshot: a shared one is kept until the
        # last deployment using it ends, and A's must be purgeable now.
        wl_c = compile_watchlist(ctx, "Operation Later", [PERSONAL["ref_a"]]).id
        dep_future = create_deployment(
            ctx, _draft("Operation Later", wl_c, mat.cameras, timedelta(days=400))
        )
        authorise_deployment(
            ctx, dep_future, officer=PERSONAL["officer"], rank="superintendent",
            reasons="reports test",
        )  # fmt: skip
        dep_draft = create_deployment(ctx, _draft("Operation Draft", wl_c, mat.cameras, back))
        # The real retention run, 24 h after A ended: A's watchlist is due (R9), B's (which
        # ended seconds later) is not yet, and no alert data is due (R10: 31 days).
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, dep_a)
            assert dep is not None and dep.ended_at is not None
            a_ended = dep.ended_at
        done = purge(ctx, now=a_ended + timedelta(hours=24))
        assert [(st.kind, st.ref) for st in done.steps] == [("watchlist", wl_a)], done.steps
        yield Scenario(ctx, dep_a, dep_b, dep_future, dep_draft, alert_a, alert_b, wl_a, work)
    finally:
        ctx.close()
