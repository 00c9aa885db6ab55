"""`openlfr alerts`: list, adjudicate, record outcomes. A person decides; nothing is automatic."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from openlfr.cli.common import app_context, console
from openlfr.service.alerts import adjudicate, alert_images, list_alerts, record_outcome

app = typer.Typer(
    help="Review alerts: every alert is decided by a person.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_(
    deployment: int | None = typer.Option(None, help="Only this deployment."),
    status: str | None = typer.Option(None, help="pending, confirmed, false_alert, not_actioned."),
    reason: str = typer.Option("alert review", help="Why you are looking (audited)."),
) -> None:
    """List alerts, newest first (operator or supervisor).

    An audited consultation. Each row is two lines, so it fits 80 columns: camera and frames,
    subject and category, score and margin to the runner-up, date and time raised, status
    and outcome.
    """
    with app_context("alerts list") as ctx:
        views = list_alerts(ctx, deployment_id=deployment, status=status, justification=reason)
    # No vertical rules and one space of padding: the id and status columns never wrap, the
    # free text (camera, subject) folds instead.
    table = Table(title="alerts", box=box.SIMPLE_HEAD, padding=(0, 1), show_lines=False)
    table.add_column("id", no_wrap=True, justify="right")
    table.add_column("dep", no_wrap=True, justify="right")
    table.add_column("camera\nframes", overflow="fold")
    table.add_column("subject\ncategory", overflow="fold", ratio=2)
    table.add_column("score\nmargin", no_wrap=True)
    table.add_column("raised\n(UTC)", no_wrap=True)
    table.add_column("status\noutcome", overflow="fold", min_width=12)
    for v in sorted(views, key=lambda a: (a.raised_at, a.id), reverse=True):
        table.add_row(
            str(v.id),
            str(v.deployment_id),
            f"{escape(v.camera)}\n{v.first_frame}-{v.last_frame}",
            f"{escape(v.subject_ref)}\n{v.category}",
            f"{v.score:.3f}\n" + ("-" if v.margin >= 2.0 else f"{v.margin:.3f}"),
            f"{v.raised_at:%Y-%m-%d}\n{v.raised_at:%H:%M:%S}",
            f"{v.status}\n{v.outcome or ''}",
        )
    console.print(table)
    if not views:
        console.print("no alerts")


@app.command("adjudicate")
def adjudicate_(
    alert_id: int = typer.Argument(...),
    decision: str = typer.Argument(..., help="confirmed, false_alert or not_actioned."),
    reason: str = typer.Option(..., help="Why (recorded and audited)."),
) -> None:
    """Record your decision on an alert (operator).

    Compare the two faces first (`openlfr alerts images`).
    """
    with app_context("alerts adjudicate") as ctx:
        adjudicate(ctx, alert_id, decision, reason)
    console.print(f"alert {alert_id}: {decision}")


@app.command("outcome")
def outcome(
    alert_id: int = typer.Argument(...),
    value: str = typer.Argument(
        ...,
        help="engaged_no_arrest, arrested, charged_or_cautioned, "
        "bailed_or_released_under_investigation, no_further_action.",
    ),
    reason: str = typer.Option("", help="Note."),
) -> None:
    """Record what followed a confirmed match (operator)."""
    with app_context("alerts outcome") as ctx:
        record_outcome(ctx, alert_id, value, reason)
    console.print(f"alert {alert_id}: outcome {value}")


@app.command("images")
def images(
    alert_id: int = typer.Argument(...),
    out: Path = typer.Option(..., help="Folder to write probe.jpg and reference.jpg into."),
    reason: str = typer.Option(..., help="Why (audited consultation)."),
) -> None:
    """Write an alert's probe and reference images (audited)."""
    with app_context("alerts images") as ctx:
        probe, ref = alert_images(ctx, alert_id, justification=reason)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"alert{alert_id}_probe.jpg").write_bytes(probe)
    (out / f"alert{alert_id}_reference.jpg").write_bytes(ref)
    console.print(f"wrote {out}/alert{alert_id}_probe.jpg and _reference.jpg")
