"""`openlfr exceptional`: images of people not convicted, held until a second supervisor decides
on the exceptional reason written for them (R3). The same requests as the web's page."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from openlfr.cli.common import app_context, console
from openlfr.service.exceptional import decide_request, list_requests

app = typer.Typer(
    help="Images held for a second supervisor (R3).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("list")
def list_(
    all_: bool = typer.Option(False, "--all", help="Decided requests too, not only pending."),
) -> None:
    """Pending requests: who asked, for whom, and why."""
    with app_context("exceptional list") as ctx:
        rows = list_requests(ctx)
    rows = [r for r in rows if all_ or r["status"] == "pending"]
    if not rows:
        console.print("no exceptional request is pending" if not all_ else "no request")
        return
    table = Table(title="exceptional requests", show_lines=True)
    for col in ("id", "status", "subject", "outcome", "asked by", "reason"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["status"],
            escape(f"{r['subject_reference']} ({r['category']})"),
            r["case_outcome"],
            escape(r["requested_by"]),
            escape(r["reason"]),
        )
    console.print(table)


@app.command("approve")
def approve(
    request_id: int = typer.Argument(..., help="Request id (see `openlfr exceptional list`)."),
    note: str = typer.Option("", "--note", help="A note for the audit log."),
) -> None:
    """Approve the reason and enrol the held image. Not by the supervisor who asked."""
    with app_context("exceptional approve") as ctx:
        decide_request(ctx, request_id, approve=True, note=note)
    console.print(f"exceptional request {request_id} approved: the image is enrolled")


@app.command("reject")
def reject(
    request_id: int = typer.Argument(..., help="Request id (see `openlfr exceptional list`)."),
    reason: str = typer.Option(..., "--reason", help="Why (goes into the audit log)."),
) -> None:
    """Reject the reason: the held image is wiped and never enrolled."""
    if not reason.strip():
        raise typer.BadParameter("say why", param_hint="--reason")
    with app_context("exceptional reject") as ctx:
        decide_request(ctx, request_id, approve=False, note=reason.strip())
    console.print(f"exceptional request {request_id} rejected: the held image is wiped")
