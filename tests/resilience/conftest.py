"""Resilience fixtures: a real store on a SQLite file in tmp_path, the real models (loaded once),
and an authorised deployment whose one camera plays the WDA_KatieHill clip, with the clip's
subject (enrolled from its frame at 7.5 s) on its watchlist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
from resil_support import CLIP, katie_spec

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import enrol_subject
from openlfr.service.watchlists import compile_watchlist
from openlfr.vision.factory import build_detector, build_embedder
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture(scope="session")
def models() -> tuple[Detector, Embedder]:
    vision = Settings().vision
    return build_detector(vision), build_embedder(vision)


@pytest.fixture(scope="session")
def katie_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("katie") / "ref.jpg"
    with av.open(str(CLIP)) as container:
        frame = next(f for f in container.decode(video=0) if f.time and f.time >= 7.5)
        frame.to_image().save(out, quality=95)
    return out


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def ctx(store_dir: Path, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=store_dir)})
    context = AppContext.open(settings, actor="pc.tester")
    context._detector, context._embedder = models
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def katie_deployment(ctx: AppContext, katie_ref: Path) -> int:
    """An authorised deployment, live for the next hour, on the clip."""
    assert enrol_subject(ctx, reference="SUBJ-1", display_name="S", category="suspect",
                         images=[katie_spec(katie_ref)]).enrolled  # fmt: skip
    wl = compile_watchlist(ctx, "WL resilience")
    now = utcnow()
    draft = DeploymentDraft(
        "Op Resilience", "locate a suspect", "High Street", "sightings",
        now - timedelta(minutes=1), now + timedelta(hours=1), wl.id,
        [("cam1", str(CLIP))], None, "reviewed",
    )  # fmt: skip
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(
        ctx, dep_id, officer="A Smith", rank="superintendent", reasons="resilience test"
    )
    return dep_id
