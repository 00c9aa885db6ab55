"""`openlfr purge`, `openlfr case-outcome` and `openlfr watchlist members` (R9-R11, R16)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openlfr.cli.common import app_context, console, err_console
from openlfr.errors import RuleViolation
from openlfr.service.case_outcomes import OutcomeResult, import_outcome_csv, record_case_outcome
from openlfr.service.context import utcnow
from openlfr.service.recovery import recover_abandoned_runs
from openlfr.service.retention import PurgeReport, purge
from openlfr.service.watchlist_members import watchlist_members

# Retention does only what the rules have made due, so it needs no account (cron has none).
PURGE_ACTOR = "system:retention (openlfr purge)"


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else "-"


def purge_command(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what is due and change nothing (no audit row either)."
    ),
) -> None:
    """Apply retention now (R9, R10, R11).

    Purges watchlists (R9), alert data (R10) and withdrawn images (R11). Needs no account.

    Live deployments whose runner has fallen silent (killed) are ended first, as "runner lost".
    Every deletion is audited as an erasure citing its rule. Run it from cron (hourly is plenty)
    where no deployment is running: a running deployment purges on its own schedule.
    """
    with app_context("purge", anonymous=PURGE_ACTOR) as ctx:
        # First end runs whose runner died: their end fixes their watchlist's purge (R9).
        lost = [] if dry_run else recover_abandoned_runs(ctx, utcnow())
        report = purge(ctx, dry_run=dry_run)
    for run in lost:
        console.print(f"deployment {run.deployment_id} ended: {run.reason}", highlight=False)
    print_purge(report)


def print_purge(report: PurgeReport) -> None:
    verb, mode = ("would do", "dry run") if report.dry_run else ("did", "applied")
    table = Table(title=f"purge at {_when(report.now)} ({mode})")
    for col in ("kind", "id", "rule", "due", "action", "done"):
        table.add_column(col)
    for step in report.steps:
        done = "dry run" if report.dry_run else ("yes" if step.done else "skipped")
        table.add_row(
            step.kind, str(step.ref), step.rule, _when(step.due_at), escape(step.action), done
        )
    if report.steps:
        console.print(table)
    counts = ", ".join(
        f"{report.count(kind)} {kind}"
        for kind in ("watchlist", "alert", "withdraw image", "erase image", "custody deletion")
    )
    console.print(f"purge {verb}: {counts}" if report.steps else "purge: nothing is due")
    console.print(f"next due: {_when(report.next_due)}")


def case_outcome_command(
    source_ref: str | None = typer.Argument(None, help="Custody record reference."),
    outcome: str | None = typer.Argument(
        None, help="New outcome: pending, charged, convicted, cautioned, nfa, acquitted, ..."
    ),
    csv_file: Path | None = typer.Option(
        None,
        "--csv",
        help="Custody-system export with columns source_ref,case_outcome[,date]; every row is "
        "checked first and a bad row applies nothing.",
    ),
    reason: str = typer.Option("", "--reason", help="Why (for the audit log)."),
) -> None:
    """Record case outcomes from the custody system (R11).

    One outcome, or a CSV export of many (supervisor).

    NFA / acquitted / discontinued withdraws that person's images from every watchlist at once
    and flags them for review and deletion.
    """
    single = source_ref is not None or outcome is not None
    if (csv_file is None) == (not single) or (single and (source_ref is None or outcome is None)):
        err_console.print(
            "[bold red]error[/]: give either SOURCE_REF OUTCOME or --csv FILE", highlight=False
        )
        raise typer.Exit(2)
    with app_context("case-outcome") as ctx:
        if csv_file is not None:
            if not csv_file.is_file():
                raise RuleViolation("R11", f"{csv_file}: no such file")
            results = import_outcome_csv(ctx, csv_file, reason=reason)
        else:
            assert source_ref is not None and outcome is not None
            results = [record_case_outcome(ctx, source_ref, outcome, reason=reason)]
    _print_outcomes(results)


#: Most per-reference lines printed; a bulk export of a million rows prints a summary instead.
OUTCOME_LINES = 20


def _print_outcomes(results: list[OutcomeResult]) -> None:
    held = [r for r in results if r.images or r.custody_images]
    for r in held[:OUTCOME_LINES]:
        line = f"{escape(r.source_ref)}: {r.outcome.label} ({r.changed} of {r.images} images "
        line += "changed)"
        if r.withdrawn:
            line += (
                f"; [bold]withdrew[/] {len(r.withdrawn)} images and flagged "
                f"{escape(', '.join(r.flagged))} for review (R11)"
            )
        console.print(line, highlight=False)
    if len(held) > OUTCOME_LINES:
        console.print(f"... and {len(held) - OUTCOME_LINES:,} more references changed")
    custody = sum(r.custody_images for r in held)
    skipped = len(results) - len(held)
    if custody:
        gone = sum(r.custody_withdrawn for r in held)
        console.print(
            f"{custody:,} custody-estate images under these references, {gone:,} withdrawn "
            "from search now (R11, R18)"
        )
    console.print(
        f"{len(results)} rows: {sum(r.changed for r in held)} images changed, "
        f"{sum(len(r.withdrawn) for r in held)} withdrawn"
        + (f", {skipped} references hold no image here" if skipped else "")
    )


def members_command(
    watchlist_id: int = typer.Argument(..., help="Watchlist id."),
    reason: str = typer.Option(
        "who was on this watchlist (R16 enquiry)", "--reason", help="Why (for the audit log)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Who was on a watchlist, also after its purge (R16).

    Identifiers only; an audited consultation (supervisor or auditor).
    """
    with app_context("watchlist members") as ctx:
        wl = watchlist_members(ctx, watchlist_id, justification=reason)
    if as_json:
        print(
            json.dumps(
                {
                    "watchlist_id": wl.watchlist_id,
                    "name": wl.name,
                    "purged_at": wl.purged_at.isoformat() if wl.purged_at else None,
                    "member_hash": wl.member_hash,
                    "hash_matches": wl.hash_matches,
                    "deployments": list(wl.deployments),
                    "members": [m.__dict__ for m in wl.members],
                },
                indent=2,
            )
        )
        return
    state = f"purged {_when(wl.purged_at)}" if wl.purged_at else "not purged"
    table = Table(title=f"watchlist {wl.watchlist_id} '{escape(wl.name)}' ({state})")
    for col in ("subject", "category", "image id", "image sha256", "source"):
        table.add_column(col)
    for m in wl.members:
        table.add_row(
            escape(m.subject_ref),
            m.category,
            str(m.reference_image_id),
            m.image_sha256[:16] + "…",
            escape(m.source_ref),
        )
    console.print(table)
    check = "matches" if wl.hash_matches else "[bold red]DOES NOT MATCH[/]"
    console.print(
        f"{len({m.subject_ref for m in wl.members})} subjects, {len(wl.members)} images; "
        f"member hash {wl.member_hash[:16]}… {check} the list frozen at compilation; "
        f"deployments: {', '.join(map(str, wl.deployments)) or '-'}"
    )
