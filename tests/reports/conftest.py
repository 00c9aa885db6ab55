"""A real store with real deployment runs, built once per backend for the report tests (~10 s
each): a SQLite file, and a fresh PostgreSQL schema when OPENLFR_TEST_PG_URL is set.

Two subjects with distinctive references and names are enrolled from the built-in demo material
(the only face in its generated street camera is theirs), each on its own watchlist in its own
category. Deployment A runs with the first: its alert is confirmed and ends in an arrest.
Deployment B runs with the second: its alert is judged a false alert. A third deployment is
authorised for next year (outside the period) and a fourth stays a draft (never a deployment).
In the period too: one authorised whose camera file was gone by the time it ran (it did not
run), one refused by the authorising officer and one withdrawn after authorisation.

What the camera shows is known exactly: one person walks past (one face track), on screen in
``FACE_FRAMES`` of its frames (``openlfr.demo.material._street_feed``: frames i of n = 150 with
0.25 <= i/n < 0.9), and the detector, searching every frame at full size, finds the face in
each of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from store_support import PG_URL, pg_schema, store_env
from suite import needs

from openlfr.config import Settings, StoreSettings, VisionSettings
from openlfr.demo.material import builtin_material
from openlfr.service.alerts import adjudicate, list_alerts, record_outcome
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import (
    DeploymentDraft,
    authorise_deployment,
    create_deployment,
    refuse_deployment,
    withdraw_deployment,
)
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.retention import purge
from openlfr.service.runs import run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m
from openlfr.store.crypto import generate_key
from openlfr.vision.protocols import Detector, Embedder

#: Frames of the built-in camera that show the face (6 s at 25 fps; see the module docstring).
FEED_FRAMES = 150
FACE_FRAMES = sum(1 for i in range(FEED_FRAMES) if 0.25 <= i / FEED_FRAMES < 0.9)

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
    "refusal": "ZQX refused: Insp Gallowglass says the watchlist names Ms Trellisford",
    "withdrawal": "ZQX withdrawn: DS Hobnail on leave",
    "gone_camera": "ZQX-camera-gone.mp4",
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
    dep_failed: int
    dep_refused: int
    dep_withdrawn: int
    backend: str
    env: dict[str, str]


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


def _authorise(ctx: AppContext, dep: int) -> None:
    authorise_deployment(
        ctx, dep, officer=PERSONAL["officer"], rank="superintendent", reasons="reports test"
    )


def _run_one(ctx: AppContext, dep: int) -> int:
    _authorise(ctx, dep)
    run_deployment(ctx, dep)
    alerts = list_alerts(ctx, deployment_id=dep, justification="test")
    assert len(alerts) == 1, alerts
    return alerts[0].id


@pytest.fixture
def personal() -> dict[str, str]:
    """What must never be published, each string put in the store by ``scenario``."""
    return dict(PERSONAL)


BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=[pytest.mark.postgres]),
]


@pytest.fixture(scope="session", params=BACKENDS)
def report_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, StoreSettings]]:
    """(backend, settings) of the scenario's store; one store per backend for the session."""
    work = tmp_path_factory.mktemp(f"reports-{request.param}")
    if request.param == "sqlite":
        yield "sqlite", StoreSettings(data_dir=work / "store")
        return
    if not PG_URL:
        pytest.skip(needs("PostgreSQL", "OPENLFR_TEST_PG_URL is not set"))
    with pg_schema(PG_URL) as url:
        yield (
            "postgresql",
            StoreSettings(data_dir=work / "store", database_url=url, key=generate_key()),
        )


@pytest.fixture(scope="session")
def scenario(
    report_store: tuple[str, StoreSettings], models: tuple[Detector, Embedder]
) -> Iterator[Scenario]:
    backend, store_settings = report_store
    work = store_settings.data_dir.parent
    # Every frame searched at full size: the report's detection counts are then known exactly
    # (between keyframes a face that has just come on screen may be found a few frames late).
    vision = VisionSettings(full_detect_every=1)
    settings = Settings().model_copy(update={"store": store_settings, "vision": vision})
    ctx = AppContext.open(settings, actor=PERSONAL["actor"])
    ctx.use_models(*models)  # the root session's, loaded once for the suite
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
        # Authorised with a camera file that existed then and was gone when the run began: no
        # camera delivered a frame, so the deployment did not run.
        gone = work / PERSONAL["gone_camera"]
        gone.write_bytes(Path(mat.cameras[0][1]).read_bytes())
        wl_f = compile_watchlist(ctx, "Operation Gamma", [PERSONAL["ref_b"]]).id
        dep_failed = create_deployment(
            ctx, _draft("Operation Gamma", wl_f, [("gate", str(gone))], back)
        )
        _authorise(ctx, dep_failed)
        gone.unlink()
        failed_run = run_deployment(ctx, dep_failed)
        assert failed_run.run_failed, failed_run
        # Requests that never became deployments: counted, never listed.
        dep_refused = create_deployment(ctx, _draft("Operation Refused", wl_c, mat.cameras, back))
        refuse_deployment(ctx, dep_refused, officer=PERSONAL["officer"], reason=PERSONAL["refusal"])
        dep_withdrawn = create_deployment(
            ctx, _draft("Operation Withdrawn", wl_c, mat.cameras, back)
        )
        _authorise(ctx, dep_withdrawn)
        withdraw_deployment(ctx, dep_withdrawn, reason=PERSONAL["withdrawal"])
        # The real retention run, 24 h after A ended: A's watchlist is due (R9), B's (which
        # ended seconds later) is not yet, and no alert data is due (R10: 31 days).
        with ctx.store.session() as s:
            dep = s.get(m.Deployment, dep_a)
            assert dep is not None and dep.ended_at is not None
            a_ended = dep.ended_at
        done = purge(ctx, now=a_ended + timedelta(hours=24))
        assert [(st.kind, st.ref) for st in done.steps] == [("watchlist", wl_a)], done.steps
        yield Scenario(
            ctx, dep_a, dep_b, dep_future, dep_draft, alert_a, alert_b, wl_a, work,
            dep_failed, dep_refused, dep_withdrawn, backend, store_env(store_settings),
        )  # fmt: skip
    finally:
        ctx.close()
