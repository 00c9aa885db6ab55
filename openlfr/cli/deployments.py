"""`openlfr deployment`: draft, authorise, run and report a deployment."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openlfr.cli.common import app_context, console, err_console
from openlfr.service.context import utcnow
from openlfr.service.deployments import DeploymentDraft, authorise_deployment, create_deployment
from openlfr.service.records import deployment_record
from openlfr.service.run_control import request_stop
from openlfr.service.runs import RunSummary, run_deployment

app = typer.Typer(help="Draft, authorise, run and report deployments.", no_args_is_help=True)


def _when(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.astimezone()


@app.command("create")
def create(
    name: str = typer.Option(..., help="Operation name."),
    purpose: str = typer.Option(..., help="Why: the policing purpose."),
    location: str = typer.Option(..., help="Where (area)."),
    location_reason: str = typer.Option(..., help="Why this place."),
    watchlist: int = typer.Option(..., help="Watchlist id (see `openlfr watchlist build`)."),
    camera: list[str] = typer.Option(
        ..., help="NAME=SOURCE: a file, rtsp:// or http(s):// URL, or /dev/videoN. Repeatable."
    ),
    start: str | None = typer.Option(None, help="Start (ISO 8601; default now)."),
    hours: float = typer.Option(8.0, help="Duration in hours, when --end is not given."),
    end: str | None = typer.Option(None, help="End (ISO 8601)."),
    threshold: float | None = typer.Option(None, help="Alert threshold (default from settings)."),
    equality_note: str = typer.Option("", help="Equality impact note."),
) -> None:
    """Draft a deployment. It cannot run until an authorising officer authorises it."""
    cams: list[tuple[str, str]] = []
    for spec in camera:
        cam_name, sep, source = spec.partition("=")
        if not sep:
            cam_name, source = f"camera{len(cams) + 1}", spec
        cams.append((cam_name, source))
    begin = _when(start, utcnow())
    draft = DeploymentDraft(
        name,
        purpose,
        location,
        location_reason,
        begin,
        _when(end, begin + timedelta(hours=hours)),
        watchlist,
        cams,
        threshold,
        equality_note,
    )
    with app_context() as ctx:
        dep_id = create_deployment(ctx, draft)
    console.print(
        f"deployment [bold]{dep_id}[/] drafted; next: openlfr deployment authorise "
        f"{dep_id} --officer NAME --rank RANK"
    )


@app.command("authorise")
def authorise(
    deployment_id: int = typer.Argument(...),
    officer: str = typer.Option(..., help="Authorising officer's name."),
    rank: str = typer.Option(..., help="Their rank (superintendent or above by default)."),
) -> None:
    """Authorise a drafted deployment; every unmet rule is listed (exit 2)."""
    with app_context() as ctx:
        authorise_deployment(
            ctx, deployment_id, officer=officer, rank=rank, reasons="authorised from the CLI"
        )
    console.print(f"deployment {deployment_id} authorised by {rank} {officer}")


@app.command("run")
def run(deployment_id: int = typer.Argument(...)) -> None:
    """Run an authorised deployment until its sources end, its window closes, or it is stopped
    (Ctrl-C here, or `openlfr deployment stop` / the web page from anywhere)."""
    with (
        app_context() as ctx,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} frames"),
            TextColumn("{task.fields[alerts]} alerts"),
            TimeElapsedColumn(),
            console=err_console,
        ) as bar,
    ):
        tasks: dict[str, TaskID] = {}

        def progress(cam: str, frames: int, alerts: int) -> None:
            if cam not in tasks:
                tasks[cam] = bar.add_task(cam, total=None, alerts=0)
            bar.update(tasks[cam], completed=frames, alerts=alerts)

        summary = run_deployment(ctx, deployment_id, progress=progress)
    print_run(summary)


@app.command("stop")
def stop(
    deployment_id: int = typer.Argument(...),
    reason: str = typer.Option("", help="Why (goes into the audit log)."),
) -> None:
    """Ask the process running a live deployment (anywhere on this store) to stop it; it ends
    within a counter save (~2 s) with "stopped by <you>"."""
    with app_context() as ctx:
        request_stop(ctx, deployment_id, reason=reason)
    console.print(f"stop of deployment {deployment_id} requested")


def print_run(summary: RunSummary) -> None:
    table = Table(title=f"deployment {summary.deployment_id}")
    for col in ("camera", "frames", "dropped", "faces", "tracks", "embedded", "alerts", "ended"):
        table.add_column(col)
    for c in summary.cameras:
        table.add_row(
            c.camera,
            str(c.frames),
            str(c.dropped),
            str(c.faces),
            str(c.tracks),
            str(c.embedded),
            str(c.alerts),
            c.end_reason,
        )
    console.print(table)


@app.command("record")
def record(
    deployment_id: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """The publishable deployment record (no personal data)."""
    with app_context() as ctx:
        rec = deployment_record(ctx, deployment_id)
    if as_json:
        print(json.dumps(rec, indent=2))
        return
    table = Table(title=f"Deployment record {deployment_id}", show_header=False)
    for k, v in rec.items():
        table.add_row(k.replace("_", " "), json.dumps(v) if isinstance(v, dict | list) else str(v))
    console.print(table)
