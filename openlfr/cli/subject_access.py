"""`openlfr subject-access`: answer a subject access request from the records (R20)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from openlfr.cli.common import app_context, console, err_console
from openlfr.reports.subject_access import disclosure_json, write_disclosure
from openlfr.service.subject_access import subject_access


def subject_access_command(
    person_ref: str = typer.Option(..., "--ref", help="The person's reference (e.g. PNC id)."),
    request_ref: str = typer.Option(..., "--request", help="The request's own reference."),
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for disclosure.html, disclosure.json and copies of the images held "
        "(default: the JSON on stdout, no images).",
    ),
    recipient: str = typer.Option(
        "", "--recipient", help="Who receives it (default: the data subject)."
    ),
) -> None:
    """What openlfr holds on a person (R20).

    Everything openlfr holds about one person, as an audited disclosure (DPA 2018 s45).

    The subject record, reference and custody images with their eligibility, every watchlist
    they were on with the reason on its entry (purged ones too), alerts with decisions,
    outcomes, camera images and sightings, every consultation of their data in the audit log,
    and deletions done. A person not held gets a "nothing held"
    disclosure; both are recorded in the audit log with their recipient."""
    with app_context("subject-access") as ctx:
        d = subject_access(ctx, person_ref=person_ref, request_ref=request_ref, recipient=recipient)
    if out is None:
        typer.echo(disclosure_json(d), nl=False)
    else:
        written = write_disclosure(d, out)
        for path in written:
            console.print(f"wrote {escape(str(path))}", highlight=False)
    what = "records held" if d.held else "nothing held"
    err_console.print(
        f"disclosure {d.disclosure_id} for {escape(d.person_ref)} ({what}) recorded in the "
        f"audit log, to {escape(d.recipient)}",
        highlight=False,
    )
