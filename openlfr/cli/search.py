"""`openlfr search`: retrospective search of the custody estate (R17), investigators only."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from openlfr.cli.common import acting, console, err_console
from openlfr.errors import ImageRejected
from openlfr.service.retro_search import LEADS_NOTICE, retrospective_search


def search(
    image: Path = typer.Option(..., "--image", help="The probe image (one face, or use --face)."),
    case: str = typer.Option(..., "--case", help="Case reference the search is made for."),
    reason: str = typer.Option(..., "--reason", help="Why this search is needed (audit log)."),
    top: int = typer.Option(20, "--top", help="Most candidates to return."),
    face: int | None = typer.Option(
        None, "--face", help="Which face of a probe with several (1 = leftmost)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Search custody images for a face (R17).

    Only images eligible now can be returned; the search is an audited consultation naming
    the case, the reason and you. Candidates are investigative leads for a trained person to
    compare with the probe, never an identification.
    """
    with acting("search") as (ctx, _):
        try:
            data = image.read_bytes()
        except OSError as exc:
            raise ImageRejected(str(image), f"cannot read file ({exc.strerror or exc})") from None
        result = retrospective_search(
            ctx, data, case_ref=case, reason=reason, top=top, face=face, name=str(image)
        )
    if as_json:
        print(json.dumps(result.as_json(), indent=2))
        err_console.print(LEADS_NOTICE, highlight=False)
        return
    table = Table(title=f"custody candidates for case {escape(result.case_ref)}")
    for col in ("rank", "person", "custody id", "score"):
        table.add_column(col)
    for c in result.candidates:
        table.add_row(str(c.rank), escape(c.person_ref), escape(c.custody_id), f"{c.score:.3f}")
    console.print(table)
    console.print(
        f"{len(result.candidates)} candidates from {result.searched:,} eligible images "
        f"({result.excluded_ineligible:,} ineligible images held were not searched) in "
        f"{result.seconds:.2f} s; audit entry {result.audit_id}",
        highlight=False,
    )
    console.print(f"[bold]{LEADS_NOTICE}[/]", highlight=False)
