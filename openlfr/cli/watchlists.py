"""`openlfr watchlist`: compile and show watchlists."""

from __future__ import annotations

import typer
from rich.markup import escape

from openlfr.cli.common import app_context, console
from openlfr.service.watchlists import compile_watchlist, watchlist_summary

app = typer.Typer(
    help="Compile a frozen watchlist from enrolled subjects.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("build")
def build(
    name: str = typer.Option(..., help="Name of the watchlist (e.g. the operation)."),
    refs: list[str] = typer.Argument(None, help="Subject references (default: every subject)."),
    per_subject: int = typer.Option(3, help="Newest eligible images per subject."),
    reason: str = typer.Option("watchlist compiled for a deployment", help="Justification."),
) -> None:
    """Compile a new frozen watchlist (supervisor).

    Freezes the eligible images of the given subjects (every subject when none is given).
    """
    with app_context("watchlist build") as ctx:
        wl = compile_watchlist(
            ctx, name, refs or None, images_per_subject=per_subject, justification=reason
        )
    console.print(
        f"watchlist [bold]{wl.id}[/] '{wl.name}': {wl.size} subjects, "
        f"{wl.images} images, hash {wl.member_hash[:16]}…"
    )
    for cat, n in wl.size_by_category.items():
        console.print(f"  {cat}: {n}")
    print_weak_only(wl.weak_only)


def print_weak_only(refs: tuple[str, ...]) -> None:
    """Who rests on weak reference images only: the members this list will most often miss."""
    if refs:
        console.print(
            f"[yellow]{len(refs)} subject{'s' if len(refs) != 1 else ''} with weak reference "
            f"images only[/] (missed far more often; enrol another image, then compile "
            f"again): {escape(', '.join(refs))}"
        )


@app.command("show")
def show(watchlist_id: int = typer.Argument(..., help="Watchlist id.")) -> None:
    """Size by category and member hash of a watchlist."""
    with app_context("watchlist show") as ctx:
        wl = watchlist_summary(ctx, watchlist_id)
    console.print_json(
        data={
            "id": wl.id,
            "name": wl.name,
            "size": wl.size,
            "size_by_category": wl.size_by_category,
            "member_hash": wl.member_hash,
            "images": wl.images,
            "weak_only": list(wl.weak_only),
        }
    )
