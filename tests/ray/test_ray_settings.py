"""RaySettings: what the Ray engine reads instead of constants, and what it refuses before
anything starts (a malformed or silent address, a worker resource no node offers)."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from openlfr.config import Settings
from openlfr.config_ray import RaySettings
from openlfr.engines.ray_engine import PLACE_TRIES, RayEngine, RayEngineError, place_wait


@pytest.mark.parametrize(
    ("address", "kept"),
    [
        ("127.0.0.1:6379", "127.0.0.1:6379"),
        (" head.example:6391 ", "head.example:6391"),
        ("ray://10.0.0.5:10001", "ray://10.0.0.5:10001"),
        ("[::1]:6379", "[::1]:6379"),
        ("", None),
        (None, None),
    ],
)
def test_good_addresses_are_kept(address: str | None, kept: str | None) -> None:
    assert RaySettings(address=address).address == kept


@pytest.mark.parametrize("address", ["no-port-here", "host:", "host:0", "host:70000", "a b:1"])
def test_malformed_addresses_are_refused_by_the_settings_and_the_engine(address: str) -> None:
    with pytest.raises(ValidationError, match="HOST:PORT"):
        RaySettings(address=address)
    with pytest.raises(RayEngineError, match=r"HOST:PORT.*Nothing was started"):
        RayEngine(address)


def test_unknown_fields_and_silly_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        RaySettings(adress="127.0.0.1:1")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        RaySettings(max_restarts=-1)
    with pytest.raises(ValidationError):
        RaySettings(local_object_store_bytes=10_000_000)  # below Ray's own floor


def test_the_engine_reads_its_settings_and_an_explicit_address_wins() -> None:
    cfg = RaySettings(address="10.0.0.1:6379", max_restarts=3, camera_cpus=0.5)
    engine = RayEngine(settings=cfg)
    assert (engine.address, engine.max_restarts, engine.settings.camera_cpus) == (
        "10.0.0.1:6379", 3, 0.5,
    )  # fmt: skip
    override = RayEngine("127.0.0.1:6391", settings=cfg)
    assert override.address == "127.0.0.1:6391" and override.max_restarts == 3
    assert Settings().ray == RaySettings()  # pre-wired as settings.ray


def test_a_silent_address_from_the_settings_is_refused_at_once() -> None:
    engine = RayEngine(settings=RaySettings(address="127.0.0.1:1", connect_timeout_s=1.0))
    start = time.monotonic()
    with pytest.raises(RayEngineError, match=r"127\.0\.0\.1:1 does not answer.*Nothing was"):
        engine.prepare("postgresql+psycopg://u@h/db")
    assert time.monotonic() - start < 5
    assert engine._ray is None  # never joined, nothing to close


def test_a_worker_resource_keeps_cameras_on_the_nodes_that_offer_it(ray_address: str) -> None:
    url = "postgresql+psycopg://u@h/db"
    everywhere = RayEngine(ray_address)
    workers = RayEngine(ray_address, settings=RaySettings(worker_resource="openlfr_worker"))
    nowhere = RayEngine(ray_address, settings=RaySettings(worker_resource="no_such_thing"))
    try:
        all_nodes = everywhere.prepare(url)
        offering = workers.prepare(url)
        # The test cluster's head offers no openlfr_worker; its worker node(s) do.
        assert offering and set(offering) < set(all_nodes)
        with pytest.raises(RayEngineError, match=r"'no_such_thing'.*Nothing was started"):
            nowhere.prepare(url)
    finally:
        for e in (everywhere, workers, nowhere):
            e.close()


@pytest.mark.parametrize(
    ("tries", "wait_s"),
    [(0, 1.0), (1, 1.0), (2, 2.0), (3, 4.0), (4, 4.0), (9, 4.0)],
)
def test_a_misplaced_camera_waits_longer_each_try_up_to_a_cap(tries: int, wait_s: float) -> None:
    assert place_wait(tries) == wait_s


def test_the_placement_tries_give_a_late_node_tens_of_seconds() -> None:
    # One CI run saw a freshly joined node still passed over after 5 s of tries.
    total = sum(place_wait(t) for t in range(1, PLACE_TRIES + 1))
    assert 20.0 <= total <= 60.0
