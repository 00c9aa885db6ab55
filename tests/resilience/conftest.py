"""Resilience fixtures: a real store (the root `store_settings`: SQLite and PostgreSQL), the
session's models, and an authorised deployment whose one camera plays the WDA_KatieHill clip,
with the clip's subject (enrolled from its frame at 7.5 s) on its watchlist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import av
import pytest
from resil_support import katie_spec
from store_support import open_context
from suite import data_path

from openlfr.config import StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.enrolment import enrol_subject
from openlfr.service.watchlists import compile_watchlist
from openlfr.vision.protocols import Detector, Embedder


@pytest.fixture(scope="session")
def clip() -> Path:
    return data_path("video", "WDA_KatieHill_000.mp4")


@pytest.fixture(scope="session")
def katie_ref(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Path:
    out = tmp_path_factory.mktemp("katie") / "ref.jpg"
    with av.open(str(clip)) as container:
        frame = next(f for f in container.decode(video=0) if f.time and f.time >= 7.5)
        frame.to_image().save(out, quality=95)
    return out


@pytest.fixture
def store_dir(store_settings: StoreSettings) -> Path:
    return store_settings.data_dir


@pytest.fixture
def ctx(store_settings: StoreSettings, models: tuple[Detector, Embedder]) -> Iterator[AppContext]:
    context = open_context(store_settings, models)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def katie_deployment(ctx: AppContext, katie_ref: Path, clip: Path) -> int:
    """An authorised deployment, live for the next hour, on the clip."""
    assert enrol_subject(ctx, reference="SUBJ-1", display_name="S", category="suspect",
                         images=[katie_spec(katie_ref)]).enrolled  # fmt: skip
    wl = compile_watchlist(ctx, "WL resilience")
    now = utcnow()
    draft = DeploymentDraft(
        "Op Resilience", "locate a suspect", "High Street", "sightings",
        now - timedelta(minutes=1), now + timedelta(hours=1), wl.id,
        [("cam1", str(clip))], None, "reviewed",
    )  # fmt: skip
    dep_id = create_deployment(ctx, draft)
    authorise_deployment(
        ctx, dep_id, officer="A Smith", rank="superintendent", reasons="resilience test"
    )
    return dep_id
