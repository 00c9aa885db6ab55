"""`openlfr report`: the published aggregate report for a period (R14)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import typer

from openlfr.cli.common import app_context, err_console, handle_errors
from openlfr.reports import aggregate, to_csv, to_html, to_json


class Format(StrEnum):
    HTML = "html"
    CSV = "csv"
    JSON = "json"


def parse_when(text: str, option: str) -> datetime:
    """An ISO date or date-time; without an offset it is UTC. The report is published, so its
    period must mean the same wherever it is read, not the generating machine's local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{option} {text!r} is not an ISO 8601 date or date-time (e.g. 2026-05-01)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def report(
    start: str = typer.Option(..., "--from", help="First day (ISO 8601, UTC unless given)."),
    end: str = typer.Option(..., "--to", help="End of the period, not included (ISO 8601)."),
    fmt: Format = typer.Option(Format.HTML, "--format", help="html (with charts), csv or json."),
    out: Path | None = typer.Option(None, "--out", help="Write here instead of stdout."),
) -> None:
    """The transparency report for a period (R14).

    Every deployment starting in [--from, --to), its record, the funnel (people seen ->
    alerts -> confirmed -> arrests -> outcomes) and deletion times. No personal data; needs
    no login."""
    with handle_errors():
        begin, finish = parse_when(start, "--from"), parse_when(end, "--to")
        if finish <= begin:
            raise ValueError(f"--to ({end}) must be after --from ({start})")
    with app_context("report") as ctx:
        rep = aggregate(ctx, begin, finish)
    text = {Format.HTML: to_html, Format.CSV: to_csv, Format.JSON: to_json}[fmt](rep)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        err_console.print(
            f"[bold red]error[/]: cannot write {out}: {exc.strerror}", highlight=False
        )
        raise typer.Exit(2) from None
    t = rep.totals
    ran = f"{t.deployments} ran" + (f", {t.did_not_run} did not run" if t.did_not_run else "")
    err_console.print(f"deployments: {ran}; {fmt.value} report written to {out}")
