"""`openlfr notices`: the public advance notices of deployments (R19). Needs no login."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from openlfr.cli.common import app_context, console
from openlfr.service.notices import PublicNotice, list_notices, notice_of


def _line(n: PublicNotice) -> str:
    sizes = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in n.watchlist_size_by_category.items())
    return (
        f"notice {n.notice_id} ({n.status}): {n.area}, {n.start[:16]} to {n.end[:16]} UTC\n"
        f"  why: {n.purpose}\n"
        f"  watchlist: {n.watchlist_size} people ({sizes or 'none'}); authorised by a "
        f"{n.authorising_rank}\n"
        f"  published {n.published_at[:16]} UTC; may start from {n.may_start_at[:16]} UTC "
        f"({n.notice_hours:g} h notice)\n"
        f"  questions: {n.contact}"
    )


def notices(
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of text."),
    include_past: bool = typer.Option(
        False, "--all", help="Include notices of deployments whose window has ended."
    ),
    deployment: int | None = typer.Option(
        None, "--deployment", help="Only this deployment's notice (refused if it has none)."
    ),
) -> None:
    """Public notices of coming deployments (R19).

    Where and when live facial recognition will be used: every published notice whose window
    has not ended, soonest first. No personal data."""
    with app_context("notices") as ctx:
        found = (
            [notice_of(ctx, deployment)]
            if deployment is not None
            else list_notices(ctx, include_past=include_past)
        )
    if as_json:
        body = {"schema": "openlfr.notices/1", "notices": [n.as_dict() for n in found]}
        typer.echo(json.dumps(body, indent=2))
        return
    if not found:
        console.print("No deployment is announced.")
    for n in found:
        console.print(escape(_line(n)), highlight=False)
