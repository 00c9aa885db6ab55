"""`openlfr enrol`: a subject and their reference images."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    track,
)

from openlfr.cli.common import app_context, console, err_console, handle_errors
from openlfr.domain import parse_category, parse_outcome
from openlfr.domain.reasons import check_reason_fits
from openlfr.errors import ImageRejected
from openlfr.service.context import AppContext
from openlfr.service.enrolment import ImageSpec, enrol_subject
from openlfr.service.exceptional import request_exception
from openlfr.service.reference_reassess import reassess_references
from openlfr.vision.images import read_image_bytes


def enrol(
    images: list[Path] = typer.Argument(..., help="Reference image files of this one person."),
    reference: str = typer.Option(..., "--ref", help="The person's reference (e.g. PNC id)."),
    category: str = typer.Option(
        ...,
        help="Lawful watchlist category: wanted_by_courts, suspect, court_conditions, "
        "mappa, missing_vulnerable (no catch-all exists).",
    ),
    reason_wanted: str | None = typer.Option(
        None,
        "--reason-wanted",
        help="Why the person is sought, from the closed list (it must fit --category, R1): "
        "failing_to_appear, recall_to_prison, breach_court_conditions, "
        "breach_sexual_offence_conditions, vawg_offence, violent_offence, acquisitive_offence, "
        "drugs_or_weapons_offence, missing_vulnerable, mappa_management.",
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
        None,
        help="Exceptional policing reason to use the image of a person not convicted. Such an "
        "image is held, not enrolled, until a second supervisor approves the reason with "
        "`openlfr exceptional approve ID` (R3).",
    ),
) -> None:
    """Enrol one subject from image files. Bad files are reported, the rest still enrolled.

    Exits 2 when any image was refused (each refusal names its file and its rule). An image of
    a person not convicted with --exceptional-reason is held for a second supervisor; the
    command says which request holds it.
    """
    with handle_errors():  # a malformed --captured date or outcome is one clear line, exit 2
        captured_on = date.fromisoformat(captured) if captured else None
        held = bool(exceptional_reason) and parse_outcome(outcome).not_convicted
        parse_category(category)  # R1 refuses a catch-all before any image is looked at
        if reason_wanted:
            check_reason_fits(reason_wanted, category)  # R1: the reason fits the category
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
        )
        for p in track(images, description="checking images", console=err_console, transient=True)
    ]
    with app_context("enrol") as ctx:
        if held:
            _hold(ctx, specs, reference, name or reference, category)
            return
        result = enrol_subject(
            ctx,
            reference=reference,
            display_name=name or reference,
            category=category,
            images=specs,
            reason_wanted=reason_wanted,
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


def _hold(
    ctx: AppContext, specs: list[ImageSpec], reference: str, display_name: str, category: str
) -> None:
    """Each image waits, sealed, for a supervisor other than this one (R3), as on the web."""
    refused = 0
    for spec in specs:
        name = str(spec.path)
        try:
            data = spec.path.read_bytes()
            read_image_bytes(data, name)  # a broken file is refused now, not at approval
            request_id = request_exception(
                ctx,
                {
                    "subject_reference": reference,
                    "display_name": display_name,
                    "category": category,
                    "source_ref": spec.source_ref,
                    "lawful_basis": spec.lawful_basis,
                    "case_outcome": spec.case_outcome,
                    "captured_on": spec.captured_on.isoformat() if spec.captured_on else "",
                    "age_at_capture": spec.age_at_capture,
                    "under18_reason": spec.under18_reason,
                    "reason": spec.exceptional_reason,
                },
                data,
            )
        except OSError as exc:
            refused += 1
            err_console.print(
                f"[red]{escape(name)} refused[/]: cannot read file ({escape(exc.strerror or '')})",
                highlight=False,
            )
            continue
        except ImageRejected as exc:
            refused += 1
            err_console.print(
                f"[red]{escape(name)} refused[/]: {escape(exc.reason)}", highlight=False
            )
            continue
        console.print(
            f"[yellow]held[/] {escape(name)} as exceptional request {request_id}: a supervisor "
            f"other than {escape(ctx.actor)} must approve its reason "
            f"(openlfr exceptional approve {request_id})",
            highlight=False,
        )
    if refused:
        raise typer.Exit(2)


def reassess_command(
    reason: str = typer.Option(
        "measure the strength of reference images enrolled before it was kept",
        "--reason",
        help="Why (for the audit log: each image is consulted and its record altered).",
    ),
) -> None:
    """Measure the strength of older reference images.

    For supervisors. Each held image that shows "not measured" in the authorisation brief
    (enrolled before migration 0018) is read back, its face found and its mirror agreement
    measured as enrolment does; weak ones are named, so another image of those people can be
    enrolled. Each image is audited. A killed run loses nothing: run it again.
    """
    cols = (TextColumn("reassessing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with app_context("reassess") as ctx, Progress(*cols, console=console) as bar:
        task = bar.add_task("reassess", total=None)
        result = reassess_references(
            ctx,
            justification=reason,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(f"{result.measured} image{'s' if result.measured != 1 else ''} measured")
    if result.weak:
        console.print(
            f"[yellow]weak reference images[/] (enrol another image of each): "
            f"{escape(', '.join(result.weak))}"
        )
    for image_id, why in result.failed:
        err_console.print(f"image {image_id} not measured: {escape(why)}", highlight=False)
    if result.failed:
        raise typer.Exit(2)
