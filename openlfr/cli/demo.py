"""`openlfr demo`: enrol, refuse an ineligible image, authorise, run, report."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openlfr.cli.common import app_context, console, err_console
from openlfr.demo.material import builtin_material, shared_material
from openlfr.demo.scenario import run_demo


def demo(
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Use the talking-head clips in this folder (../shared/data) "
        "instead of the built-in generated feed.",
    ),
) -> None:
    """Run a whole deployment on the embedded default and show what happened."""
    with tempfile.TemporaryDirectory(prefix="openlfr-demo-") as tmp, app_context() as ctx:
        work = Path(tmp)
        with console.status("building the demo material"):
            mat = shared_material(data_dir, work) if data_dir else builtin_material(work)
        console.print(Panel(mat.description, title="openlfr demo"))
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} frames, {task.fields[alerts]} alerts"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(cam: str, frames: int, alerts: int) -> None:
                if cam not in tasks:
                    tasks[cam] = bar.add_task(f"camera {cam}", total=None, alerts=0)
                bar.update(tasks[cam], completed=frames, alerts=alerts)

            console.print("enrolling, compiling the watchlist, authorising, running…")
            result = run_demo(ctx, mat, progress)
        db = ctx.settings.store.resolved_url()
    for r in result.refused:
        console.print(
            f"[yellow]{r.image and Path(r.image).name} refused[/]: {r.reason}", highlight=False
        )
    wl = result.watchlist
    console.print(
        f"watchlist {wl.id}: {wl.size} subjects ({wl.size_by_category}), "
        f"hash {wl.member_hash[:12]}…"
    )
    console.print(f"deployment {result.deployment_id} authorised by superintendent 'Demo Officer'")
    cams = Table(title="cameras")
    for col in ("camera", "frames", "detections", "people", "faces embedded", "alerts", "ended"):
        cams.add_column(col)
    for c in result.run.cameras:
        cams.add_row(
            c.camera,
            str(c.frames),
            str(c.faces),
            str(c.tracks),
            str(c.embedded),
            str(c.alerts),
            c.end_reason,
        )
    console.print(cams)
    table = Table(title="alerts (each awaits a person's decision)")
    for col in ("alert", "camera", "subject", "score", "margin", "frames"):
        table.add_column(col)
    for a in result.alerts:
        table.add_row(
            str(a.id),
            a.camera,
            a.subject_ref,
            f"{a.score:.3f}",
            "no runner-up" if a.margin >= 2.0 else f"{a.margin:.3f}",
            f"{a.first_frame}-{a.last_frame}",
        )
    console.print(table)
    console.print(
        f"true alerts: {result.true_alerts}, false alerts: {result.false_alerts}; "
        f"people seen: {result.record['people_seen']} ({result.record['face_detections']} face "
        "detections); of "
        "faces that did not match, only these counts were kept"
    )
    console.print(f"database: {db}")
    console.print(
        "next: openlfr alerts list; openlfr alerts adjudicate ID confirmed --reason …;"
        f" openlfr deployment record {result.deployment_id}"
    )
    if result.true_alerts < 1 or result.false_alerts:
        err_console.print("[red]demo did not end with a true alert and no false one[/]")
        raise typer.Exit(1)
