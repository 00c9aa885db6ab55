"""The custody import's embedding fanned out on the Ray test cluster: results in input order,
the same vectors as embedding here, rejects with their reason, a silent cluster refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from suite import SHARED_DATA

from openlfr.config import Settings
from openlfr.config_ray import RaySettings
from openlfr.engines.ray_embed import embed_chunk, embed_images_on_ray
from openlfr.engines.ray_engine import RayEngine, RayEngineError

LFW = SHARED_DATA / "lfw" / "images"
PEOPLE = ("Aaron_Sorkin", "Abdullah_Gul", "Abel_Pacheco")


def _inputs() -> list[Path | bytes]:
    items: list[Path | bytes] = []
    for person in PEOPLE:
        folder = LFW / person
        if not folder.is_dir():
            pytest.skip(f"shared data: {folder} is missing")
        items += sorted(folder.iterdir())[:2]
    ok, black = cv2.imencode(".jpg", np.zeros((200, 200, 3), np.uint8))
    assert ok
    items.insert(3, black.tobytes())  # a picture with no face
    items.append(b"not an image at all")
    return items


def test_embedding_on_the_cluster_matches_embedding_here(ray_address: str) -> None:
    settings = Settings()
    items = _inputs()
    engine = RayEngine(ray_address)
    got = list(embed_images_on_ray(items, settings, chunk=3, in_flight=2, engine=engine))
    assert [r.index for r in got] == list(range(len(items)))
    rejected = {r.index: r.reason for r in got if r.vector is None}
    assert set(rejected) == {3, len(items) - 1}
    assert all(rejected.values())
    assert all(r.reason is None for r in got if r.vector is not None)
    here = embed_chunk(settings, [(r.index, _bytes(items[r.index]), "x") for r in got])
    for remote, local in zip(got, here, strict=True):
        if remote.vector is not None:
            assert local.vector is not None
            np.testing.assert_allclose(remote.vector, local.vector, atol=1e-5)
    vecs = np.stack([r.vector for r in got if r.vector is not None])
    sims = vecs @ vecs.T
    # Two images of each person: each one's nearest other image is the same person's.
    assert [int(np.argsort(-row)[1]) // 2 for row in sims] == [0, 0, 1, 1, 2, 2]


def _bytes(item: Path | bytes) -> bytes:
    return item if isinstance(item, bytes) else item.read_bytes()


def test_a_silent_cluster_is_refused_before_any_image_is_read() -> None:
    settings = Settings().model_copy(update={"ray": RaySettings(address="127.0.0.1:1")})

    def images() -> object:
        raise AssertionError("no image may be read")
        yield b""

    with pytest.raises(RayEngineError, match="does not answer"):
        list(embed_images_on_ray(images(), settings))  # type: ignore[arg-type]
