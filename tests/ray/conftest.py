"""Fixtures for the Ray engine's tests: the cluster .ci/run starts (head + a worker node on
loopback, at OPENLFR_TEST_RAY_ADDRESS), a third node a test may kill, and RTSP cameras."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from ray_support import CLIPS, RAY_ENV, Node
from rtsp_support import AUTH, DEBS, RtspServer, gstreamer_missing
from suite import SHARED_DATA, needs


@pytest.fixture(scope="session")
def ray_address() -> Iterator[str]:
    """The test cluster's head, with this process connected to it as the driver."""
    try:
        import ray
    except ImportError:
        pytest.skip(needs("Ray", "pip install -e '.[dev]' installs it"))
    address = os.environ.get(RAY_ENV)
    if not address:
        pytest.skip(needs("Ray", f"{RAY_ENV} is not set; .ci/run starts a two-node cluster"))
    ray.init(address=address, namespace="openlfr", log_to_driver=False)
    try:
        yield address
    finally:
        ray.shutdown()


@pytest.fixture
def doomed_node(ray_address: str) -> Iterator[Node]:
    node = Node(ray_address)
    try:
        yield node
    finally:
        node.kill()


@pytest.fixture
def cameras(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    """Four live RTSP cameras (the shared talking-head clips, looped) behind Basic auth."""
    missing = gstreamer_missing()
    if missing:
        pytest.skip(needs("GStreamer", f"{missing}; apt-get install {DEBS}"))
    clips = [SHARED_DATA / "video" / name for name in CLIPS]
    for clip in clips:
        if not clip.is_file():
            pytest.skip(needs("shared data", f"clip {clip} is missing"))
    server = RtspServer(clips, tmp_path_factory.mktemp("rtsp-h264"), auth=AUTH)
    server.start()
    try:
        yield server
    finally:
        server.kill()
