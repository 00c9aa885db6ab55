"""Every request's context shares the service's models: the first request that needs the
embedder loads it once for all, and later requests (or a concurrent one) reuse it, instead of
each loading a private copy that dies with the request."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from openlfr.api.state import ServiceState
from openlfr.config import Settings, StoreSettings
from openlfr.service import context as context_module
from openlfr.vision.protocols import Embedder


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[Embedder]:
    """Each embedder the contexts build (real ones), in order."""
    made: list[Embedder] = []
    real = context_module.build_embedder

    def counted(vision: object) -> Embedder:
        made.append(real(vision))  # type: ignore[arg-type]
        return made[-1]

    monkeypatch.setattr(context_module, "build_embedder", counted)
    return made


def test_a_model_one_request_loads_serves_the_next_and_the_service(
    tmp_path: Path, built: list[Embedder]
) -> None:
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp_path / "d")})
    state = ServiceState.open(settings)
    try:
        first, second = state.context("pc.one"), state.context("pc.two")
        assert built == []  # a request that needs no model never waits for one
        assert first.embedder is second.embedder is state.base.embedder
        assert len(built) == 1
        assert (first.actor, second.actor) == ("pc.one", "pc.two")
    finally:
        state.base.close()


def test_requests_that_need_the_model_at_once_load_it_once(
    tmp_path: Path, built: list[Embedder]
) -> None:
    settings = Settings().model_copy(update={"store": StoreSettings(data_dir=tmp_path / "d")})
    state = ServiceState.open(settings)
    got: list[Embedder] = []
    try:
        workers = [
            threading.Thread(target=lambda i=i: got.append(state.context(f"pc.{i}").embedder))
            for i in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert len(got) == 4 and len(built) == 1
        assert all(e is built[0] for e in got)
    finally:
        state.base.close()
