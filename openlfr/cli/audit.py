"""`openlfr audit`: verify the chain, checkpoints and bindings; anchor the head; export for a
regulator; backfill bindings after an upgrade; rotate the signing key."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer

from openlfr.cli.common import OPTIONS, app_context, console, err_console
from openlfr.service.audit_log import (
    AuditFilter,
    backfill_bindings,
    export_anchor,
    read_anchor,
    read_audit,
    rotate_audit_key,
    verify_store,
    write_anchor,
)

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True, rich_markup_mode=None)


@app.command("verify")
def verify(
    db: Path | None = typer.Option(None, "--db", help="SQLite database file."),
    anchor: Path | None = typer.Option(
        None, "--anchor", help="A signed head exported earlier (`openlfr audit anchor`)."
    ),
) -> None:
    """Check the audit chain, checkpoints and bindings.

    Checks the hash chain, its signed checkpoints and every keyed binding (no login needed; the
    key files are). With --anchor, also that the log still holds that head.

    Exit 0 printing what was checked if intact; exit 1 naming each thing that is wrong."""
    if db is not None:
        OPTIONS.db = db
    with app_context("audit verify") as ctx:
        report = verify_store(ctx, read_anchor(anchor) if anchor is not None else None)
    if report.ok:
        console.print(
            f"audit log intact: {report.rows} rows checked, {report.checkpoints} signed "
            f"checkpoints checked, {report.bindings} bindings checked"
            f"{', and the anchor' if report.anchor_checked else ''}",
            highlight=False,
        )
        return
    for problem in report.problems:
        err_console.print(f"TAMPERED: {problem}", highlight=False, markup=False)
    err_console.print(
        f"({report.rows} rows, {report.checkpoints} checkpoints, {report.bindings} bindings "
        "checked)",
        highlight=False,
    )
    raise typer.Exit(1)


@app.command("anchor")
def anchor_out(
    out: Path = typer.Option(..., "--out", help="File to write the signed head to (JSON)."),
) -> None:
    """Sign the log's current head and write it to FILE.

    Keep it outside the database (with a third party, in a published record) and pass it to
    `audit verify --anchor` later."""
    with app_context("audit anchor") as ctx:
        head = export_anchor(ctx, str(out))
        write_anchor(out, head)
    console.print(head.line(), highlight=False, markup=False)


@app.command("backfill")
def backfill_cmd(reason: str = typer.Option(..., "--reason", help="Why (audited).")) -> None:
    """Bind every row written before the upgrade (admin, once). Whoever runs it vouches for
    those rows as they stand now; it is audited and refused a second time."""
    with app_context("audit backfill") as ctx:
        count = backfill_bindings(ctx, reason)
    console.print(f"{count} rows bound", highlight=False)


@app.command("rotate-key")
def rotate_key(reason: str = typer.Option(..., "--reason", help="Why (audited).")) -> None:
    """Retire the audit signing key for a new one (admin).

    Its public half is kept, so older checkpoints still verify; checkpoints are signed with the
    new key from now on. Restart running openlfr processes after."""
    with app_context("audit rotate-key") as ctx:
        old, new = rotate_audit_key(ctx, reason)
    console.print(f"signing key {old} retired; now signing with {new}", highlight=False)


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
