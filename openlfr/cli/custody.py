"""`openlfr custody import` (and H7's `review`): the custody estate (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from openlfr.cli import custody_review
from openlfr.cli.common import acting, console
from openlfr.service.custody_import import CustodyCsvError, import_custody

app = typer.Typer(help="The custody estate: import, review.", no_args_is_help=True)
app.command("review")(custody_review.review)


@app.command("import")
def import_(
    csv_file: Path = typer.Option(..., "--csv", help="custody_id,person_ref,image,captured,..."),
    images: Path = typer.Option(..., "--images", help="Folder the image column is relative to."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Write rejected rows here."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=256,
        help="Processes finding and embedding faces here (default: one per core).",
    ),
    engine: str = typer.Option(
        "local", "--engine",
        help="Where faces are found and embedded: local (this machine's cores) or ray (a Ray "
        "cluster's nodes; the images are sent to them).",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="The Ray head's HOST:PORT (with --engine ray)."
    ),
) -> None:  # fmt: skip
    """Import custody images (supervisor; R2-R4).

    Each image is sealed and given its eligibility by the enrolment rules (R2-R4). Stopped or
    killed part-way, the same command run again carries on where it stopped."""
    from openlfr.engines.ray_engine import RayEngineError

    if engine not in ("local", "ray"):
        raise typer.BadParameter("expected local or ray", param_hint="--engine")
    if ray_address and engine != "ray":
        raise typer.BadParameter("only with --engine ray", param_hint="--ray-address")
    with acting("custody import") as (ctx, _):
        cols = (TextColumn("importing"), BarColumn(), TaskProgressColumn(),
                TextColumn("{task.speed} rows/s"), TimeRemainingColumn())  # fmt: skip
        with Progress(*cols, console=console, disable=as_json) as bar:
            task = bar.add_task("import", total=None)
            try:
                result = import_custody(
                    ctx, csv_file, images, workers=workers, engine=engine,
                    ray_address=ray_address,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )  # fmt: skip
            except CustodyCsvError as exc:
                console.print(f"error: {exc}; nothing was imported", highlight=False)
                raise typer.Exit(2) from None
            except RayEngineError as exc:
                console.print(f"error: {exc}; nothing was imported", highlight=False)
                raise typer.Exit(2) from None
    if rejects is not None:
        import csv

        with rejects.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["line", "custody_id", "reason"])
            w.writerows(result.rejects)
    if as_json:
        print(json.dumps(result.as_dict()))
        return
    d = result.as_dict()
    console.print(", ".join(f"{k} {v}" for k, v in d.items()), highlight=False)
