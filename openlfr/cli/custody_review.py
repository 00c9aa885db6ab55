"""`openlfr custody review`: the custody estate review (R18), published as HTML and JSON."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import typer

from openlfr.cli.common import acting, console
from openlfr.errors import RuleViolation
from openlfr.reports.estate_render import to_html, to_json
from openlfr.service.estate_review import estate_review


def _day(text: str | None, name: str, *, end: bool = False) -> datetime | None:
    if text is None:
        return None
    try:
        day = datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(), UTC)
    except ValueError:
        raise RuleViolation("R18", f"{name} {text!r} is not a date (YYYY-MM-DD)") from None
    return day + timedelta(days=1) if end else day


def review(
    as_json: bool = typer.Option(False, "--json", help="Print the review as JSON."),
    out: Path | None = typer.Option(None, "--out", help="Write the HTML review (with charts)."),
    start: str | None = typer.Option(None, "--from", help="Period start, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--to", help="Period end (included), YYYY-MM-DD."),
) -> None:
    """Review the custody estate (R18; supervisor or auditor).

    Images held, by case outcome and by age; ineligible images still held and since when;
    withdrawn and deleted in the period (default: the last 365 days); time from a case outcome
    to withdrawal; and searches that returned an ineligible image, proved from the audit log.
    Counts only: the output names nobody.
    """
    with acting("custody review") as (ctx, _):
        period_start, period_end = _day(start, "--from"), _day(end, "--to", end=True)
        if period_start and period_end and period_end <= period_start:
            raise RuleViolation("R18", "--to must not be before --from")
        result = estate_review(ctx, start=period_start, end=period_end)
    if out is not None:
        out.write_text(to_html(result), encoding="utf-8")
    if as_json:
        print(to_json(result), end="")
        return
    console.print(
        f"custody estate: {result.images_held:,} images held, {result.eligible_held:,} eligible, "
        f"{result.ineligible_held:,} ineligible (not searched; {result.deletion_overdue:,} past "
        f"the {result.review_period_days:g}-day review period)",
        highlight=False,
    )
    for row in result.by_case_outcome:
        if row.held:
            console.print(f"  {row.label}: {row.held:,} ({row.ineligible:,} ineligible)")
    lag = result.withdrawal_lag
    console.print(
        f"in the period: {result.withdrawn_in_period:,} withdrawn, {result.deleted_in_period:,} "
        f"deleted; withdrawal took median {lag.median_s if lag.median_s is not None else '-'} s, "
        f"p95 {lag.p95_s if lag.p95_s is not None else '-'} s ({lag.withdrawals:,} measured)",
        highlight=False,
    )
    proof = result.searches
    verdict = "audit chain verified" if proof.chain_ok else "AUDIT CHAIN BROKEN"
    console.print(
        f"{proof.searches:,} searches, {proof.candidates_returned:,} candidates; "
        f"[bold]{proof.returning_ineligible} returned an ineligible image[/] ({verdict})"
    )
    if out is not None:
        console.print(f"review written to {out}")
