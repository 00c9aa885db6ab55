"""`openlfr deployment`: draft, amend, review, authorise, run and report a deployment.

Who may do what is the account's role (openlfr.cli.roles): a supervisor drafts, amends and
withdraws; an authorising officer authorises, refuses or returns, under the name and rank on
their account; a supervisor or operator runs and stops.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openlfr.cli.common import acting, app_context, console, err_console, handle_errors
from openlfr.cli.session import check_role
from openlfr.cli.watchlists import print_weak_only
from openlfr.service.authorisation_brief import authorisation_brief
from openlfr.service.cli_session import current_draft, record_is_published
from openlfr.service.context import utcnow
from openlfr.service.deployments import (
    DeploymentDraft,
    amend_deployment,
    authorise_deployment,
    create_deployment,
    refuse_deployment,
    return_deployment,
    withdraw_deployment,
)
from openlfr.service.records import deployment_record
from openlfr.service.run_control import request_stop
from openlfr.service.runs import RunSummary, run_deployment

#: How the brief shows a reference image's strength (BriefMember.weak_reference).
STRENGTH = {True: "[yellow]weak: enrol another[/]", False: "ok", None: "not measured"}

app = typer.Typer(
    help="Draft, authorise, run and report deployments.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
CAMERA_HELP = "NAME=SOURCE: a file, rtsp:// or http(s):// URL, or /dev/videoN. Repeatable."


def _when(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.astimezone()


def _cameras(specs: list[str]) -> list[tuple[str, str]]:
    cams: list[tuple[str, str]] = []
    for spec in specs:
        cam_name, sep, source = spec.partition("=")
        if not sep:
            cam_name, source = f"camera{len(cams) + 1}", spec
        cams.append((cam_name, source))
    return cams


@app.command("create")
def create(
    name: str = typer.Option(..., help="Operation name."),
    purpose: str = typer.Option(..., help="Why: the policing purpose."),
    location: str = typer.Option(..., help="Where (area)."),
    location_reason: str = typer.Option(..., help="Why this place."),
    watchlist: int = typer.Option(..., help="Watchlist id (see `openlfr watchlist build`)."),
    camera: list[str] = typer.Option(..., help=CAMERA_HELP),
    start: str | None = typer.Option(None, help="Start (ISO 8601; default now)."),
    hours: float = typer.Option(8.0, help="Duration in hours, when --end is not given."),
    end: str | None = typer.Option(None, help="End (ISO 8601)."),
    threshold: float | None = typer.Option(None, help="Alert threshold (default from settings)."),
    equality_note: str = typer.Option("", help="Equality impact note."),
) -> None:
    """Draft a deployment (supervisor). It cannot run until an authorising officer
    authorises it; until then it can be amended or withdrawn."""
    with handle_errors():
        begin = _when(start, utcnow())
        draft = DeploymentDraft(
            name,
            purpose,
            location,
            location_reason,
            begin,
            _when(end, begin + timedelta(hours=hours)),
            watchlist,
            _cameras(camera),
            threshold,
            equality_note,
        )
    with app_context("deployment create") as ctx:
        dep_id = create_deployment(ctx, draft)
    console.print(
        f"deployment [bold]{dep_id}[/] drafted; next, an authorising officer: openlfr "
        f"deployment brief {dep_id}, then openlfr deployment authorise {dep_id} --reasons TEXT"
    )


@app.command("amend")
def amend(
    deployment_id: int = typer.Argument(...),
    name: str | None = typer.Option(None, help="Operation name."),
    purpose: str | None = typer.Option(None, help="Why: the policing purpose."),
    location: str | None = typer.Option(None, help="Where (area)."),
    location_reason: str | None = typer.Option(None, help="Why this place."),
    watchlist: int | None = typer.Option(None, help="Watchlist id."),
    camera: list[str] | None = typer.Option(
        None, help=CAMERA_HELP + " Given: replaces every camera."
    ),
    start: str | None = typer.Option(None, help="Start (ISO 8601)."),
    hours: float | None = typer.Option(None, help="Duration in hours from the start."),
    end: str | None = typer.Option(None, help="End (ISO 8601)."),
    threshold: float | None = typer.Option(None, help="Alert threshold."),
    equality_note: str | None = typer.Option(None, help="Equality impact note."),
) -> None:
    """Change a draft or a returned deployment (supervisor).

    Only the options given change; the deployment is then a draft again, awaiting the
    authorising officer."""
    with app_context("deployment amend") as ctx:
        old = current_draft(ctx, deployment_id)
        begin = _when(start, old.start)
        finish = begin + timedelta(hours=hours) if hours is not None else old.end
        if start is not None and end is None and hours is None:
            finish = begin + (old.end - old.start)  # moving the start keeps the duration
        given = {
            "name": name,
            "purpose": purpose,
            "location": location,
            "location_reason": location_reason,
            "watchlist_id": watchlist,
            "cameras": _cameras(camera) if camera else None,
            "threshold": threshold,
            "equality_note": equality_note,
        }
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
        draft = replace(old, start=begin, end=_when(end, finish), **changes)
        amend_deployment(ctx, deployment_id, draft)
    console.print(f"deployment {deployment_id} amended: a draft again, awaiting authorisation")


@app.command("withdraw")
def withdraw(
    deployment_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help="Why (goes into the audit log)."),
) -> None:
    """Withdraw a deployment that has not gone live (supervisor). Final."""
    with app_context("deployment withdraw") as ctx:
        withdraw_deployment(ctx, deployment_id, reason=reason)
    console.print(f"deployment {deployment_id} withdrawn")


@app.command("brief")
def brief(
    deployment_id: int = typer.Argument(...),
    no_probe: bool = typer.Option(
        False, "--no-probe", help="Do not open stream URLs (they are checked at authorising)."
    ),
) -> None:
    """What the authorising officer decides on (audited).

    Purpose, place, window, threshold and its floor with the evidence behind it, each camera
    source checked, and who is on the watchlist: an audited consultation."""
    with app_context("deployment brief") as ctx:
        b = authorisation_brief(ctx, deployment_id, probe_urls=not no_probe)
    head = Table(title=f"deployment {b.deployment_id}: {escape(b.name)} ({b.status})")
    head.add_column("", style="bold")
    head.add_column("", overflow="fold")
    for label, value in (
        ("purpose", b.purpose),
        ("location", f"{b.location}: {b.location_reason}"),
        ("window", f"{b.start:%Y-%m-%d %H:%M} to {b.end:%Y-%m-%d %H:%M} UTC"),
        ("threshold", f"{b.threshold:.3f} (floor {b.threshold_floor:.3f})"),
        ("floor evidence", b.floor_evidence),
        ("equality note", b.equality_note or "-"),
        ("drafted by", b.created_by),
        ("last review", f"{b.reviewed_by}: {b.review_note}" if b.review_note else "-"),
        ("size", ", ".join(f"{k}: {v}" for k, v in b.size_by_category.items()) or "empty"),
    ):
        head.add_row(label, escape(str(value)))
    console.print(head)
    cams = Table(title="camera sources")
    for col in ("camera", "source", "verdict"):
        cams.add_column(col, overflow="fold")
    for c in b.cameras:
        verdict = f"{'[green]ok[/]' if c.ok else '[red]FAILS[/]'}: {escape(c.detail)}"
        cams.add_row(escape(c.camera), escape(c.source), verdict)
    console.print(cams)
    members = Table(title=f"watchlist members ({len(b.members)} images)")
    for col in ("reference", "category", "image taken", "reference image"):
        members.add_column(col, overflow="fold")
    for mem in b.members:
        taken = mem.image_captured.isoformat() if mem.image_captured else "-"
        members.add_row(escape(mem.reference), mem.category, taken, STRENGTH[mem.weak_reference])
    console.print(members)
    print_weak_only(b.weak_only)
    unmeasured = sum(1 for mem in b.members if mem.weak_reference is None)
    if unmeasured:
        console.print(
            f"{unmeasured} image{'s' if unmeasured != 1 else ''} not measured (enrolled before "
            "their strength was kept, or vision.flip_tta on): `openlfr reassess` measures the "
            "former."
        )


@app.command("authorise")
def authorise(
    deployment_id: int = typer.Argument(...),
    reasons: str = typer.Option(..., help="Why it is necessary and proportionate (R5)."),
    conditions: str = typer.Option("", help="Conditions the deployment must keep to."),
    withhold_notice: str | None = typer.Option(
        None,
        "--withhold-notice",
        help="Withhold the public notice (R19) for a listed reason: threat_to_life, "
        "risk_of_serious_harm, missing_person_urgent, national_security. Audited, counted.",
    ),
    withhold_note: str = typer.Option(
        "", "--withhold-note", help="The specific circumstances (needed with --withhold-notice)."
    ),
) -> None:
    """Authorise a draft under your account's name and rank.

    Authorising officer only. Every unmet rule is listed (exit 2). The public notice goes up
    at once, and the deployment may start once the notice period has passed (R19)."""
    with acting("deployment authorise") as (ctx, who):
        assert who is not None
        authorise_deployment(
            ctx,
            deployment_id,
            officer=who.display_name,
            rank=who.rank or "",
            reasons=reasons,
            conditions=conditions,
            withhold_notice=withhold_notice,
            withhold_note=withhold_note,
        )
    console.print(
        f"deployment {deployment_id} authorised by {escape(who.rank or '')} "
        f"{escape(who.display_name)}",
        highlight=False,
    )


def _officers(
    command: str, act: Callable[..., None], deployment_id: int, reason: str, done: str
) -> None:
    with acting(command) as (ctx, who):
        assert who is not None
        act(ctx, deployment_id, officer=who.display_name, reason=reason)
    console.print(f"deployment {deployment_id} {done}")


@app.command("refuse")
def refuse(
    deployment_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help="Why it is refused (recorded and audited)."),
) -> None:
    """Refuse a draft (authorising officer). Final: a new draft is needed."""
    _officers("deployment refuse", refuse_deployment, deployment_id, reason, "refused")


@app.command("return")
def return_(
    deployment_id: int = typer.Argument(...),
    reason: str = typer.Option(..., help="What must change (recorded and audited)."),
) -> None:
    """Return a draft for changes (authorising officer)."""
    _officers("deployment return", return_deployment, deployment_id, reason, "returned for changes")


@app.command("run")
def run(
    deployment_id: int = typer.Argument(...),
    engine: str = typer.Option(
        "in-process",
        help="Where the cameras run: in-process (threads here) or ray (one actor per camera "
        "across a Ray cluster's nodes; needs `pip install 'openlfr[ray]'`).",
    ),
    ray_address: str | None = typer.Option(
        None,
        help="The Ray head's HOST:PORT (with --engine ray). Unset: RAY_ADDRESS, else a private "
        "one-node Ray on this machine. More than one node needs a PostgreSQL store.",
    ),
) -> None:
    """Run an authorised deployment (operator or supervisor).

    It runs until its sources end, its window closes, or it is stopped. Stop it with Ctrl-C
    here, or with `openlfr deployment stop` or the web page from anywhere.
    """
    import os

    from openlfr.engines.ray_engine import RayEngine, RayEngineError

    if engine not in ("in-process", "ray"):
        raise typer.BadParameter("expected in-process or ray", param_hint="--engine")
    if ray_address and engine != "ray":
        raise typer.BadParameter("only with --engine ray", param_hint="--ray-address")
    chosen: RayEngine | None = None
    with (
        app_context("deployment run") as ctx,
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

        if engine == "ray":
            chosen = RayEngine(
                ray_address or os.environ.get("RAY_ADDRESS") or None, settings=ctx.settings.ray
            )
            try:  # refuses before anything starts: no answer, or SQLite across nodes
                nodes = chosen.prepare(ctx.settings.store.resolved_url())
            except RayEngineError as exc:
                err_console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(2) from None
            err_console.print(f"Ray: {len(nodes)} node(s); one actor per camera")
        try:
            summary = run_deployment(ctx, deployment_id, progress=progress, engine=chosen)
        finally:
            if chosen is not None:
                chosen.close()
    print_run(summary)


@app.command("stop")
def stop(
    deployment_id: int = typer.Argument(...),
    reason: str = typer.Option("", help="Why (goes into the audit log)."),
) -> None:
    """Stop a live deployment (operator or supervisor).

    The process running it on this store is asked to stop; it ends within a counter save (about
    2 s) with "stopped by <you>".
    """
    with app_context("deployment stop") as ctx:
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
    """The publishable deployment record (no personal data).

    A published one (authorised, live or ended) needs no login; any other needs a supervisor,
    authorising officer or auditor account.
    """
    with acting("deployment record") as (ctx, who):
        if not record_is_published(ctx, deployment_id):
            check_role("deployment record (unpublished)", who)
        rec = deployment_record(ctx, deployment_id)
    if as_json:
        print(json.dumps(rec, indent=2))
        return
    table = Table(title=f"Deployment record {deployment_id}", show_header=False)
    for k, v in rec.items():
        table.add_row(k.replace("_", " "), json.dumps(v) if isinstance(v, dict | list) else str(v))
    console.print(table)
