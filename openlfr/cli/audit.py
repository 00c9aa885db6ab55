"""`openlfr audit`: verify the hash chain; export for a regulator."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from openlfr.cli.common import OPTIONS, app_context, console, err_console
from openlfr.service.audit_log import AuditFilter, read_audit
from openlfr.store import verify_audit

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True, rich_markup_mode=None)


@app.command("verify")
def verify(db: Path | None = typer.Option(None, "--db", help="SQLite database file.")) -> None:
    """Check the audit log's hash chain (no login needed).

    Exit 0 with the number of rows checked if intact; exit 1 naming the first bad row."""
    if db is not None:
        OPTIONS.db = db
    with app_context("audit verify") as ctx, ctx.store.session() as s:
        result = verify_audit(s)
    if result.ok:
        console.print(f"audit log intact: {result.rows_checked} rows checked")
        return
    err_console.print(f"audit log TAMPERED: first bad row {result.first_bad_id}: {result.reason}")
    raise typer.Exit(1)


@app.command("export")
def export(
    start: datetime = typer.Option(..., "--from", help="From (ISO date/time, UTC)."),
    end: datetime = typer.Option(..., "--to", help="To, exclusive."),
    fmt: str = typer.Option("json", "--format", help="csv or json."),
) -> None:
    """Print audit entries in [from, to) as CSV or JSON (auditor). The export is itself logged,
    with the period, as /api/audit logs a reading."""
    if fmt not in ("json", "csv"):
        err_console.print("--format must be csv or json")
        raise typer.Exit(2)
    start, end = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (start, end))
    with app_context("audit export") as ctx:
        period = AuditFilter(start, end)
        rows = read_audit(ctx, period, limit=None, purpose=f"audit log exported ({fmt}, CLI)")
    if fmt == "json":
        print(json.dumps(rows, indent=2, default=str))
    elif fmt == "csv":
        fields = list(rows[0]) if rows else ["id"]
        w = csv.DictWriter(sys.stdout, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()})
