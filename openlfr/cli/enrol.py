"""`openlfr enrol`: a subject and their reference images."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import track

from openlfr.cli.common import OPTIONS, app_context, console, err_console, handle_errors
from openlfr.service.enrolment import ImageSpec, enrol_subject


def enrol(
    images: list[Path] = typer.Argument(..., help="Reference image files of this one person."),
    reference: str = typer.Option(..., "--ref", help="The person's reference (e.g. PNC id)."),
    category: str = typer.Option(
        ...,
        help="Lawful watchlist category: wanted_by_courts, suspect, court_conditions, "
        "mappa, missing_vulnerable (no catch-all exists).",
    ),
    source: str = typer.Option(..., "--source", help="Custody record id the images come from."),
    lawful_basis: str = typer.Option(
        "PACE Code D; DPA 2018 s35 (law enforcement processing)", help="Lawful basis."
    ),
    name: str = typer.Option("", help="Display name (default: the reference)."),
    outcome: str = typer.Option(
        "pending",
        help="Case outcome of the custody record: pending, charged, convicted, "
        "cautioned, no_further_action, acquitted, discontinued.",
    ),
    captured: str | None = typer.Option(None, help="Capture date, YYYY-MM-DD."),
    age: int | None = typer.Option(None, help="Age at capture (under 18 needs --under18-reason)."),
    under18_reason: str | None = typer.Option(None, help="Recorded reason for a minor's image."),
    exceptional_reason: str | None = typer.Option(
        None, help="Exceptional policing reason to use a not-convicted person's image."
    ),
    approved_by: str | None = typer.Option(
        None, help="Supervisor who approved the exceptional reason (not the requester)."
    ),
    requested_by: str | None = typer.Option(
        None, help="Who asked for the exceptional reason (default: the acting user, --as)."
    ),
) -> None:
    """Enrol one subject from image files. Bad files are reported, the rest still enrolled.

    Exits 2 when any image was refused (each refusal names its file and its rule).
    """
    with handle_errors():  # a malformed --captured date is one clear line, exit 2
        captured_on = date.fromisoformat(captured) if captured else None
    specs = [
        ImageSpec(
            path=p,
            source_ref=source,
            lawful_basis=lawful_basis,
            case_outcome=outcome,
            captured_on=captured_on,
            age_at_capture=age,
            under18_reason=under18_reason,
            exceptional_reason=exceptional_reason,
            exceptional_approved_by=approved_by,
            exceptional_requested_by=(requested_by or OPTIONS.who())
            if exceptional_reason
            else None,
            exceptional_approver_role="supervisor" if approved_by else None,
        )
        for p in track(images, description="checking images", console=err_console, transient=True)
    ]
    with app_context() as ctx:
        result = enrol_subject(
            ctx,
            reference=reference,
            display_name=name or reference,
            category=category,
            images=specs,
        )
    for path, image_id in result.enrolled:
        console.print(
            f"[green]enrolled[/] {escape(path)} as image {image_id} of {escape(reference)}"
        )
    for w in result.warnings:
        err_console.print(f"[yellow]warning[/]: {escape(w)}", highlight=False)
    for r in result.refused:
        err_console.print(f"[red]{escape(r.image)} refused[/]: {escape(r.reason)}", highlight=False)
    if result.refused:
        raise typer.Exit(2)
