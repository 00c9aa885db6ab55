"""Cameras on a Ray cluster: one actor per camera, spread over the cluster's nodes, restarted
elsewhere when its node dies (issue 10, DESIGN §3 "Scale-out").

Frames never cross the network: each actor opens its camera's source itself, on the node it
runs on, and writes counters, sealed alerts and audit entries straight to the store (the system
of record, PostgreSQL whenever there is more than one node). What travels through Ray is the
`CameraJob` (plain data) out and the `CameraReport` back.

Ray is imported only here and only when an engine connects, so the base install (`pip install
openlfr`, no `[ray]` extra) runs everything else without it.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from pydantic import ValidationError

from openlfr.config_ray import RaySettings
from openlfr.engines.protocols import CameraJob, CameraReport, RunControl
from openlfr.engines.ray_actor import CameraActor
from openlfr.errors import OpenLFRError
from openlfr.video._decode import redact

log = logging.getLogger("openlfr.engines.ray")

#: How often the driver looks at its cameras and repeats a stop (seconds).
POLL_S = 0.5
#: Times a camera is placed again when Ray's soft affinity put it on another node than asked,
#: and the first wait before it, doubled each time up to PLACE_RETRY_MAX_S (the asked node's
#: raylet may not yet be in the scheduler's view; on a loaded machine that took over 5 s once,
#: so the tries span about 30 s before the camera is left where Ray put it).
PLACE_TRIES = 9
PLACE_RETRY_S = 1.0
PLACE_RETRY_MAX_S = 4.0
_SUMMED = (
    "frames",
    "skipped",
    "dropped",
    "faces",
    "tracks",
    "embedded",
    "alerts",
    "reconnects",
    "down_s",
)


class RayEngineError(OpenLFRError):
    """The Ray cluster cannot be used (no answer, no Ray installed, a store it cannot share)."""


def _split_address(address: str) -> tuple[str, int]:
    text = address.strip().removeprefix("ray://")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RayEngineError(f"Ray address {address!r}: expected HOST:PORT (the head's GCS port)")
    return host.strip("[]"), int(port)


def check_answers(address: str, timeout_s: float) -> None:
    """Fails fast, with a clear message, when nothing listens at `address`: `ray.init` would
    otherwise retry for a minute or more before saying so."""
    host, port = _split_address(address)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise RayEngineError(
            f"the Ray cluster at {address} does not answer ({exc.strerror or exc}); "
            "start it (`ray start --head`) or give the right --ray-address. Nothing was started."
        ) from None


def refuse_sqlite(store_url: str, nodes: int, where: str) -> None:
    """A multi-node run needs a store every node reaches: refuse the embedded SQLite file."""
    if nodes > 1 and store_url.lower().startswith("sqlite"):
        raise RayEngineError(
            f"the Ray cluster at {where} has {nodes} nodes, but the store is SQLite, a file on "
            "this machine that cameras on other nodes cannot share safely. Use PostgreSQL "
            "(store.url = postgresql+psycopg://...), or run on one node. Nothing was started."
        )


def place_wait(tries: int) -> float:
    """Seconds before a misplaced camera's `tries`-th placement: doubling from PLACE_RETRY_S,
    capped, so a briefly late node is caught quickly and a slow one still gets time."""
    return float(min(PLACE_RETRY_S * 2 ** max(tries - 1, 0), PLACE_RETRY_MAX_S))


def merge_reports(attempts: list[CameraReport]) -> CameraReport:
    """One camera's report from its attempts (a restart is a new attempt with its own counters
    row): counts summed, alerts joined, the end reason of the last attempt."""
    merged = CameraReport(attempts[-1].camera_name)
    for report in attempts:
        for name in _SUMMED:
            setattr(merged, name, getattr(merged, name) + getattr(report, name))
        merged.alert_ids.extend(report.alert_ids)
    merged.end_reason = attempts[-1].end_reason
    return merged


class RayEngine:
    """One Ray actor per camera, placed round-robin on the cluster's live nodes (soft node
    affinity: a camera whose node is gone is placed on another), restarted up to
    `max_restarts` times.

    `address` is the head's HOST:PORT (None: `settings.address`; None there too starts a
    private one-node Ray in this process, on this machine, e.g. to measure the engine's
    overhead). Everything else comes from `settings` (see `RaySettings` for each trade-off).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, settings: RaySettings | None = None) -> None:
        cfg = settings or RaySettings()
        if address is not None:
            try:
                cfg = RaySettings.model_validate(cfg.model_dump() | {"address": address})
            except ValidationError as exc:
                why = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
                raise RayEngineError(f"{why}. Nothing was started.") from None
        self.settings = cfg
        self.address = cfg.address
        self.max_restarts = cfg.max_restarts
        self.restarts: dict[str, int] = {}  # camera name -> restarts in the last run
        self.placement: dict[str, str] = {}  # camera name -> node id it was first placed on
        self.moved: dict[str, list[str]] = {}  # camera name -> nodes it was rebuilt on
        self._ray: Any = None
        self._started_here = False

    # -- connecting --------------------------------------------------------------------------

    def connect(self) -> list[str]:
        """Connects (once) and returns the ids of the cluster's live nodes."""
        if self._ray is None:
            try:
                import ray
            except ImportError:
                raise RayEngineError(
                    "the Ray engine needs Ray: pip install 'openlfr[ray]'"
                ) from None
            if self.address is not None:
                check_answers(self.address, self.settings.connect_timeout_s)
            if not ray.is_initialized():
                try:
                    if self.address is not None:
                        ray.init(
                            address=self.address,
                            namespace=self.settings.namespace,
                            logging_level=logging.WARNING,
                            log_to_driver=False,
                        )
                    else:
                        # A private cluster on this machine: small object store (frames never
                        # go into it), no dashboard, nothing reported home.
                        ray.init(
                            namespace=self.settings.namespace,
                            include_dashboard=False,
                            object_store_memory=self.settings.local_object_store_bytes,
                            logging_level=logging.WARNING,
                            log_to_driver=False,
                        )
                except Exception as exc:  # ConnectionError, RuntimeError, version mismatch...
                    where = self.address or "this machine"
                    raise RayEngineError(
                        f"cannot join the Ray cluster at {where}: {exc}. Nothing was started."
                    ) from None
                self._started_here = True
            self._ray = ray
        return self.live_nodes()

    def live_nodes(self) -> list[str]:
        return sorted(str(n["NodeID"]) for n in self._ray.nodes() if n.get("Alive"))

    def _nodes_with_resource(self, nodes: list[str]) -> list[str]:
        name = self.settings.worker_resource
        have = sorted(
            str(n["NodeID"])
            for n in self._ray.nodes()
            if n.get("Alive") and n.get("Resources", {}).get(name, 0) > 0
        )
        if not have:
            raise RayEngineError(
                f"no live node of the Ray cluster at {self.address or 'this machine'} offers the "
                f"resource {name!r} (ray.worker_resource); start workers with --resources "
                f"'{{\"{name}\": N}}' or unset it. Nothing was started."
            )
        return [n for n in nodes if n in have]

    def prepare(self, store_url: str) -> list[str]:
        """Everything that can refuse a run, before anything starts: Ray reachable, and a
        store the nodes can share. Returns the live nodes."""
        nodes = self.connect()
        if self.settings.worker_resource is not None:
            nodes = self._nodes_with_resource(nodes)
        refuse_sqlite(store_url, len(nodes), self.address or "this machine")
        return nodes

    def close(self) -> None:
        if self._ray is not None and self._started_here:
            self._ray.shutdown()
        self._ray, self._started_here = None, False

    # -- running -----------------------------------------------------------------------------

    def _misplaced(self, where: str, asked: str, tries: int) -> bool:
        """A camera Ray put elsewhere than the node it was asked for, while that node is still
        live: placed again (up to PLACE_TRIES times), so cameras really spread over the nodes
        and a lost node takes only its share. After that it stays where it is (logged)."""
        if where == asked:
            return False
        if tries < PLACE_TRIES and asked in self.live_nodes():
            return True
        log.warning("camera kept on node %s, not %s as asked", where[:12], asked[:12])
        return False

    def run(self, jobs: list[CameraJob], control: RunControl) -> list[CameraReport]:
        if not jobs:
            return []
        nodes = self.prepare(jobs[0].store_url)
        ray = self._ray
        from ray.exceptions import ActorDiedError, RayError, RayTaskError
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        remote_cls = ray.remote(CameraActor)
        name = self.settings.worker_resource
        resources = {name: self.settings.worker_resource_per_camera} if name else {}
        self.restarts = {job.camera_name: 0 for job in jobs}
        self.placement, self.moved = {}, {}
        asked = [nodes[i % len(nodes)] for i in range(len(jobs))]
        replaced = [0] * len(jobs)

        def place(i: int) -> Any:
            job = jobs[i]
            log.info(
                "deployment %s: camera %s (%s) asked for node %s",
                job.deployment_id,
                job.camera_name,
                redact(job.source),
                asked[i][:12],
            )
            return remote_cls.options(
                num_cpus=self.settings.camera_cpus,
                resources=resources,
                max_restarts=self.max_restarts,
                max_task_retries=0,  # the engine resubmits `run` itself, and counts it
                max_concurrency=2,  # `stop` must get in while `run` is going
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id=asked[i], soft=True),
            ).remote(job)

        actors = [place(i) for i in range(len(jobs))]
        attempts: list[list[CameraReport]] = [[] for _ in jobs]
        # ref -> (camera, "run" | "ping"). After a loss the actor is pinged until Ray has
        # rebuilt it (calls fail fast while the cluster has not yet declared the node dead),
        # and only then given the camera again: one loss is one restart, however long it takes.
        # Each actor first says where Ray really put it (affinity is soft), then runs.
        pending: dict[Any, tuple[int, str]] = {
            actor.node_id.remote(): (i, "ping") for i, actor in enumerate(actors)
        }
        retry: dict[int, float] = {}  # camera -> when to ping it again
        respawn: dict[int, float] = {}  # camera -> when to place it again (it landed astray)
        next_stop = 0.0
        try:
            while pending or retry or respawn:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=POLL_S)
                now = time.monotonic()
                if control.stop.is_set() and now >= next_stop:
                    # Repeated: an actor being rebuilt after a node died has a fresh stop flag.
                    next_stop = now + 2.0
                    for i, _kind in set(pending.values()):
                        actors[i].stop.remote()
                for i, due in list(respawn.items()):
                    if control.stop.is_set() or now >= due:
                        del respawn[i]
                        actors[i] = place(i)
                        pending[actors[i].node_id.remote()] = (i, "ping")
                for i, due in list(retry.items()):
                    if control.stop.is_set():
                        del retry[i]
                        attempts[i][-1].end_reason = "stopped by operator"
                    elif now >= due:
                        del retry[i]
                        pending[actors[i].node_id.remote()] = (i, "ping")
                for ref in ready:
                    i, kind = pending.pop(ref)
                    job = jobs[i]
                    try:
                        result = ray.get(ref)
                    except RayTaskError as exc:  # the camera's own code failed: no retry
                        attempts[i].append(
                            CameraReport(job.camera_name, end_reason=f"error: {exc.cause!r}")
                        )
                        continue
                    except ActorDiedError as exc:  # Ray gave up on it (restarts spent)
                        if kind == "run":
                            attempts[i].append(CameraReport(job.camera_name))
                        attempts[i][
                            -1
                        ].end_reason = f"error: worker lost ({exc.__class__.__name__})"
                        continue
                    except RayError as exc:  # its process or node is gone: Ray rebuilds it
                        if kind == "run":
                            attempts[i].append(CameraReport(job.camera_name))
                            self.restarts[job.camera_name] += 1
                            log.warning(
                                "deployment %s: camera %s lost its worker (%s); restart %d",
                                job.deployment_id,
                                job.camera_name,
                                type(exc).__name__,
                                self.restarts[job.camera_name],
                            )
                            if self.restarts[job.camera_name] > self.max_restarts:
                                attempts[i][
                                    -1
                                ].end_reason = f"error: worker lost {self.max_restarts + 1} times"
                                continue
                        retry[i] = time.monotonic() + 1.0
                        continue
                    if kind == "ping":  # up (or rebuilt): it says where; the camera runs there
                        if self.restarts[job.camera_name] == 0:
                            if self._misplaced(str(result), asked[i], replaced[i]):
                                # Soft affinity fell back while the node was live (its raylet
                                # not yet in the scheduler's view): ask again, a moment later.
                                replaced[i] += 1
                                ray.kill(actors[i], no_restart=True)
                                respawn[i] = now + place_wait(replaced[i])
                                continue
                            self.placement[job.camera_name] = str(result)
                        else:
                            self.moved.setdefault(job.camera_name, []).append(str(result))
                        pending[actors[i].run.remote()] = (i, "run")
                    else:
                        attempts[i].append(result)
        finally:
            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:  # already gone with its node: nothing left to end
                    log.debug("actor already gone", exc_info=True)
        return [merge_reports(a) for a in attempts]
