"""`openlfr alerts`: list, adjudicate, record outcomes. A person decides; nothing is automatic."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from openlfr.cli.common import app_context, console
from openlfr.service.alerts import adjudicate, alert_images, list_alerts, record_outcome

app = typer.Typer(help="Review alerts: every alert is decided by a person.", no_args_is_help=True)


@app.command("list")
def list_(
    deployment: int | None = typer.Option(None, help="Only this deployment."),
    status: str | None = typer.Option(None, help="pending, confirmed, false_alert, not_actioned."),
    reason: str = typer.Option("alert review", help="Why you are looking (audited)."),
) -> None:
    """List alerts (an audited consultation)."""
    with app_context() as ctx:
        views = list_alerts(ctx, deployment_id=deployment, status=status, justification=reason)
    table = Table(title="alerts")
    for col in (
        "id",
        "deployment",
        "camera",
        "subject",
        "category",
        "score",
        "margin",
        "frames",
        "raised (UTC)",
        "status",
        "outcome",
    ):
        table.add_column(col)
    for v in views:
        table.add_row(
            str(v.id),
            str(v.deployment_id),
            v.camera,
            v.subject_ref,
            v.category,
            f"{v.score:.3f}",
            f"{v.margin:.3f}",
            f"{v.first_frame}-{v.last_frame}",
            f"{v.raised_at:%Y-%m-%d %H:%M:%S}",
            v.status,
            v.outcome or "",
        )
    console.print(table)


@app.command("adjudicate")
def adjudicate_(
    alert_id: int = typer.Argument(...),
    decision: str = typer.Argument(..., help="confirmed, false_alert or not_actioned."),
    reason: str = typer.Option(..., help="Why (recorded and audited)."),
) -> None:
    """Record a person's decision on an alert, after comparing the two faces."""
    with app_context() as ctx:
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
    """Record what followed a confirmed match."""
    with app_context() as ctx:
        record_outcome(ctx, alert_id, value, reason)
    console.print(f"alert {alert_id}: outcome {value}")


@app.command("images")
def images(
    alert_id: int = typer.Argument(...),
    out: Path = typer.Option(..., help="Folder to write probe.jpg and reference.jpg into."),
    reason: str = typer.Option(..., help="Why (audited consultation)."),
) -> None:
    """Write an alert's probe crop and watchlist image side by side for review."""
    with app_context() as ctx:
        probe, ref = alert_images(ctx, alert_id, justification=reason)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"alert{alert_id}_probe.jpg").write_bytes(probe)
    (out / f"alert{alert_id}_reference.jpg").write_bytes(ref)
    console.print(f"wrote {out}/alert{alert_id}_probe.jpg and _reference.jpg")
