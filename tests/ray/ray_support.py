"""Shared by the Ray tests: the clips the cameras play, and a worker node a test can kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "live"))  # rtsp_support: the RTSP server

RAY_ENV = "OPENLFR_TEST_RAY_ADDRESS"
CLIPS = (
    "WDA_KatieHill_000.mp4",
    "RD_Radio34_000.mp4",
    "RD_Radio2_000.mp4",
    "WDA_EdMarkey0_000.mp4",
)
RAY_BIN = Path(sys.executable).with_name("ray")


def _nodes() -> list[str]:
    import ray

    return sorted(str(n["NodeID"]) for n in ray.nodes() if n.get("Alive"))


class Node:
    """A Ray worker node this test started (its own process group), to be killed."""

    def __init__(self, address: str) -> None:
        before = set(_nodes())
        self.proc = subprocess.Popen(
            [str(RAY_BIN), "start", "--address", address, "--block", "--num-cpus", "1",
             "--object-store-memory", "100000000", "--disable-usage-stats"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while not (set(_nodes()) - before):
            assert self.proc.poll() is None, "ray start for the extra node failed"
            assert time.monotonic() < deadline, "the extra Ray node did not join"
            time.sleep(0.2)
        (self.node_id,) = set(_nodes()) - before
        # Listed is not yet schedulable: until its raylet takes work, soft affinity sends the
        # cameras meant for it elsewhere and the test would have nothing to kill. A task pinned
        # to it (hard affinity) runs only once it is.
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        def where() -> str:  # nested: pickled by value, workers cannot import this module
            return str(ray.get_runtime_context().get_node_id())

        pinned = NodeAffinitySchedulingStrategy(node_id=self.node_id, soft=False)
        task = ray.remote(num_cpus=0)(where).options(scheduling_strategy=pinned)
        assert ray.get(task.remote(), timeout=120) == self.node_id

    def kill(self) -> None:
        """SIGKILL to the node's raylet and everything it started: a machine lost."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
