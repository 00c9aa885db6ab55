"""`openlfr eval video`: the live pipeline over a file, as fast as it can, on a throw-away store.

It goes through the same service path as a real deployment (enrol, compile, authorise, run),
so what it measures is what runs.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from openlfr.config import Settings, StoreSettings
from openlfr.service.context import AppContext, utcnow
from openlfr.service.deployments import DeploymentDraft, create_deployment
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.evaluation_authorisation import authorise_for_evaluation
from openlfr.service.runs import Progress, run_deployment
from openlfr.service.watchlists import compile_watchlist
from openlfr.store import models as m

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".ppm", ".tif", ".tiff"}


def watchlist_images(root: Path) -> dict[str, list[Path]]:
    """DIR/<identity>/<images> -> {identity: sorted image paths}; other files are ignored."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: watchlist folder not found")
    out: dict[str, list[Path]] = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith("."))
        if files:
            out[d.name] = files
    return out


def eval_video(
    video: Path,
    watchlist: Path,
    *,
    settings: Settings,
    threshold: float | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    if not video.is_file():
        raise FileNotFoundError(f"{video}: video file not found")
    identities = watchlist_images(watchlist)
    with tempfile.TemporaryDirectory(prefix="openlfr-eval-") as tmp:
        store = StoreSettings(data_dir=Path(tmp))
        # A throw-away store: its deployment runs at once, so no advance notice (R19).
        quick = settings.accountability.model_copy(update={"notice_hours": 0.0})
        s = settings.model_copy(update={"store": store, "accountability": quick})
        ctx = AppContext.open(s, actor="evaluation")
        try:
            return _run(ctx, video, identities, threshold, progress)
        finally:
            ctx.close()


def _run(
    ctx: AppContext,
    video: Path,
    identities: dict[str, list[Path]],
    threshold: float | None,
    progress: Progress | None,
) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    enrolled: list[str] = []
    for identity, files in identities.items():
        specs = [
            ImageSpec(f, source_ref=f"eval:{f.name}", lawful_basis="evaluation", age_at_capture=30)
            for f in files
        ]
        # Research sets (LFW) centre their subject and may show others: take the central face.
        res = enrol_subject(
            ctx,
            reference=identity,
            display_name=identity,
            category="suspect",
            images=specs,
            several_faces="central",
        )
        failures.extend({"image": r.image, "reason": r.reason} for r in res.refused)
        if res.enrolled:
            enrolled.append(identity)
    th = threshold if threshold is not None else ctx.settings.matching.threshold
    frames = faces = tracks = 0
    alerts: list[dict[str, Any]] = []
    seconds = 0.0
    if enrolled:
        wl = compile_watchlist(ctx, f"eval {video.name}", enrolled, justification="evaluation run")
        start = utcnow() - timedelta(minutes=1)
        # The longest window the policy allows (R5): no evaluation is cut off by its end.
        end = start + timedelta(hours=ctx.settings.governance.max_duration_hours)
        dep_id = create_deployment(
            ctx,
            DeploymentDraft(
                name=f"eval {video.name}",
                purpose="evaluation",
                location="evaluation",
                location_reason="evaluation",
                start=start,
                end=end,
                watchlist_id=wl.id,
                cameras=[("eval", str(video))],
                # Drafting holds a threshold to the floor (R7); an evaluation may measure below
                # it, so its own threshold is set with its synthetic authorisation below.
                threshold=max(th, _floor(ctx)),
                equality_note="evaluation",
            ),
        )
        authorise_for_evaluation(ctx, dep_id, th)
        t0 = time.perf_counter()
        summary = run_deployment(ctx, dep_id, progress=progress)
        seconds = time.perf_counter() - t0
        cam = summary.cameras[0]
        frames, faces, tracks = cam.frames, cam.faces, cam.tracks
        if summary.run_failed or cam.end_reason.startswith(("error", "source failed")):
            failures.append({"image": str(video), "reason": cam.end_reason})
        with ctx.store.session() as sess:
            rows = sess.execute(
                select(m.Alert, m.Subject.reference)
                .join(m.Subject, m.Subject.id == m.Alert.subject_id)
                .where(m.Alert.deployment_id == dep_id)
                .order_by(m.Alert.id)
            ).all()
        alerts = [
            {
                "identity": ref,
                "track_id": a.track_id,
                "first_frame": a.first_frame,
                "last_frame": a.last_frame,
                "score": round(float(a.score), 4),
            }
            for a, ref in rows
        ]
    return {
        "frames": frames,
        "seconds": round(seconds, 3),
        "fps": round(frames / seconds, 2) if seconds > 0 else 0.0,
        "faces_detected": faces,
        "tracks": tracks,
        "threshold": th,
        "alerts": alerts,
        "alerted_identities": dict(Counter(a["identity"] for a in alerts)),
        "enrol_failures": failures,
    }


def _floor(ctx: AppContext) -> float:
    floor = ctx.settings.governance.threshold_floor(ctx.settings.vision.embedder)
    return -1.0 if floor is None else floor
