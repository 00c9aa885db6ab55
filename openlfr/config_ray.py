"""Ray engine: where cameras run on a cluster (issue 10 item 4)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_ADDRESS = re.compile(r"^(ray://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$")


class RaySettings(BaseModel):
    """How `--engine ray` joins a cluster and places cameras on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    address: str | None = Field(
        None,
        description="The head's HOST:PORT (its GCS port, `ray start --head --port`). None starts "
        "a private one-node Ray inside the run: nothing to operate, but one machine only (the "
        "engine's overhead without its reach). `--ray-address` and RAY_ADDRESS override it.",
    )
    connect_timeout_s: float = Field(
        5.0,
        gt=0,
        le=120,
        description="How long the head may take to accept a connection before the run is "
        "refused (nothing started). Short fails fast on a wrong address; too short refuses a "
        "head across a slow link.",
    )
    namespace: str = Field(
        "openlfr",
        min_length=1,
        max_length=64,
        description="Ray namespace of the camera actors. Separate namespaces keep two forces (or "
        "test suites) on one cluster from seeing each other's actors; the same one lets a tool "
        "find a run's actors by name.",
    )
    worker_resource: str | None = Field(
        None,
        max_length=64,
        description="A custom resource (`ray start --resources '{\"openlfr_worker\": 4}'`) each "
        "camera needs: cameras then go only to nodes that advertise it, at most its amount / "
        "worker_resource_per_camera on each. None places cameras on any live node (the head too), "
        "so a dead node's cameras always find room; set, the head stays free for the driver but "
        "the cameras of a dead node wait if no other node has spare resource.",
    )
    worker_resource_per_camera: float = Field(
        1.0,
        gt=0,
        le=1000,
        description="How much of worker_resource one camera takes: 1 with a node's amount equal "
        "to the cameras it can decode and analyse at video.analysis_fps.",
    )
    camera_cpus: float = Field(
        0.0,
        ge=0,
        le=64,
        description="CPUs each camera actor reserves. 0 lets Ray put any number of cameras on a "
        "node (placement is round-robin anyway); more stops a node being given more cameras "
        "than it can decode, at the risk that the cameras of a dead node find no room elsewhere.",
    )
    max_restarts: int = Field(
        10,
        ge=0,
        le=1000,
        description="Times a camera's actor is rebuilt (on another node if its own died) before "
        "the camera ends with 'worker lost'. Higher rides out a flapping node; lower stops a "
        "camera that keeps crashing its worker sooner. Each restart is counted in the record.",
    )
    local_object_store_bytes: int = Field(
        200_000_000,
        ge=78_643_200,  # Ray's own floor (75 MiB)
        le=64_000_000_000,
        description="Object store of the private one-node Ray (address None). Frames never go in "
        "it (only jobs and reports), so it is small: every byte is shared memory taken from the "
        "machine whether used or not. Ray refuses less than 75 MiB.",
    )

    @field_validator("address")
    @classmethod
    def _address_form(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        if not _ADDRESS.match(value) or not 0 < int(value.rsplit(":", 1)[1]) < 65536:
            raise ValueError(f"Ray address {value!r}: expected HOST:PORT (the head's GCS port)")
        return value
