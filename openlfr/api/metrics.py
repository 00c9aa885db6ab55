"""Prometheus metrics, in a registry per app (two apps in one test process never collide)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class ServiceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["deployment", "camera"]
        self.fps = Gauge(
            "openlfr_camera_fps",
            "Frames analysed per second per camera, from the change in the runner's saved "
            "frame count between two reads (runners save every 2 s).",
            labels,
            registry=self.registry,
        )
        self.dropped = Gauge(
            "openlfr_camera_frames_dropped",
            "Frames dropped by the camera's bounded queue since the camera started (the "
            "analysis fell behind the source).",
            labels,
            registry=self.registry,
        )
        buckets = (0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
        self.face_to_alert = Histogram(
            "openlfr_face_to_alert_latency_seconds",
            "Seconds from the capture of the frame that raised an alert (live source: the "
            "frame's UTC stamp at decode; file: the wall-clock time it was decoded) to the "
            "alert's storing (raised_at): queueing, detection, tracking, embedding, fusion and "
            "search. Add openlfr_alert_push_latency_seconds for the time to the screen.",
            buckets=buckets,
            registry=self.registry,
        )
        self.latency = Histogram(
            "openlfr_alert_push_latency_seconds",
            "Seconds from an alert's storing (raised_at) to its push to operators' browsers "
            "(the live feed polls the store; see openlfr_face_to_alert_latency_seconds for the "
            "time before storing).",
            buckets=buckets,
            registry=self.registry,
        )
        self.alerts = Counter(
            "openlfr_alerts",
            "Alerts seen by the operator service (raised in this process or by a separate "
            "`openlfr deployment run`).",
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "openlfr_alert_queue_depth",
            "Alerts waiting for a person to adjudicate them (status pending).",
            registry=self.registry,
        )
        self.ws_clients = Gauge(
            "openlfr_alert_subscribers",
            "Operator pages connected to the live alert WebSocket.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
