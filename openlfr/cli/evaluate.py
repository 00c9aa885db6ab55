"""`openlfr eval`: measuring entry points (their interfaces are fixed: checks drive them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from openlfr.cli.common import OPTIONS, err_console, handle_errors
from openlfr.evaluation.video import eval_video

app = typer.Typer(help="Measure accuracy and speed.", no_args_is_help=True, rich_markup_mode=None)


@app.command("video")
def video(
    video_file: Path = typer.Option(..., "--video", help="Video file to run the pipeline on."),
    watchlist: Path = typer.Option(..., "--watchlist", help="DIR/<identity>/<images>."),
    threshold: float | None = typer.Option(None, help="Alert threshold (default: settings)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON here."),
) -> None:
    """Run the live pipeline over a video file; print JSON.

    As fast as it can, on a throw-away store.
    """
    with (
        handle_errors(),
        Progress(
            TextColumn("{task.description}"),
            TextColumn("{task.completed} frames"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task(f"eval {video_file.name}", total=None)
        result = eval_video(
            video_file,
            watchlist,
            settings=OPTIONS.settings(),
            threshold=threshold,
            progress=lambda _cam, frames, _alerts: bar.update(task, completed=frames),
        )
    text = json.dumps(result)
    print(text)
    # R19: the throw-away store sets the public notice period to zero; said here, not in the
    # JSON, whose keys are the interface `eval video` keeps.
    err_console.print("note: throw-away store: notice period 0 h (R19 does not apply)")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")


def _embedding_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def _emit(result: dict[str, Any], json_out: Path | None) -> None:
    text = json.dumps(result)
    print(text)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")


@app.command("pairs")
def pairs(
    pairs_csv: Path = typer.Option(..., "--pairs", help="CSV: img_a,img_b,same[,fold]."),
    root: Path = typer.Option(..., "--root", help="Folder the CSV's image paths are relative to."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON here."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Embed every image afresh (no on-disk evaluation cache)."
    ),
) -> None:
    """1:1 verification on image pairs; prints one JSON object.

    accuracy is the mean over folds (best threshold on the other folds) when the CSV has a fold
    column, else the accuracy at the best threshold. An image with no face counts in
    failures_to_enrol and its pairs score as non-matches at the lowest score (cosine -1).
    """
    from openlfr.evaluation.pairs import evaluate_pairs

    with handle_errors(), _embedding_bar() as bar:
        task = bar.add_task("embedding pairs images", total=None)
        result = evaluate_pairs(
            pairs_csv,
            root,
            OPTIONS.settings().vision,
            use_cache=not no_cache,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    d = result.details
    err_console.print(
        f"accuracy: {d['accuracy_method']}"
        + (f", std {d['accuracy_std']:.4f}" if "accuracy_std" in d else "")
        + f"; {d['same_pairs']} same / {d['different_pairs']} different pairs",
        highlight=False,
    )
    for note in d["notes"]:
        err_console.print(f"note: {note}", highlight=False)
    for image, reason in d["failed_images"].items():
        err_console.print(f"failure to enrol: {image}: {reason}", highlight=False)
    _emit(result.summary, json_out)


@app.command("identify")
def identify(
    root: Path = typer.Option(..., "--root", help="DIR/<identity>/<images>."),
    identities: Path | None = typer.Option(
        None, "--identities", help="CSV with an 'identity' column and the --group-by column."
    ),
    group_by: str | None = typer.Option(
        None, "--group-by", help="Column of --identities that names each identity's group."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON here."),
    plot: Path | None = typer.Option(None, "--plot", help="Write DET curves to this PNG."),
    operating_fpir: float = typer.Option(
        0.001,
        "--operating-fpir",
        min=0.0001,
        max=0.5,
        help="Per-group rates are taken at the overall threshold for this FPIR.",
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Embed every image afresh (no on-disk evaluation cache)."
    ),
    record: bool = typer.Option(
        False,
        "--record",
        help="Keep the per-group rates (needs --group-by) as the store's equality evidence, "
        "shown beside each deployment's threshold to the authorising officer.",
    ),
) -> None:
    """Open-set 1:N identification (NIST FRTE protocol).

    Per-group equitability; prints one JSON object.

    Gallery: each identity's first image (by file name) when it has two or more; mated probes:
    their other images; non-mated probes: identities with a single image. A gallery image with
    no face drops its identity (its probes then all miss); a probe with no face is a
    non-detection (a miss when mated, not a false positive when non-mated).
    """
    from openlfr.evaluation.identify import evaluate_identify

    with handle_errors(), _embedding_bar() as bar:
        task = bar.add_task("embedding identification images", total=None)
        result = evaluate_identify(
            root,
            OPTIONS.settings().vision,
            groups_csv=identities,
            group_by=group_by,
            operating_fpir=operating_fpir,
            use_cache=not no_cache,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            plot=plot,
        )
    eq = result.get("equitability")
    if eq:
        err_console.print(f"equitability: {eq['verdict']}", highlight=False)
        err_console.print(f"per identity: {eq['per_identity']['verdict']}", highlight=False)
        if "note" in eq:
            err_console.print(f"note: {eq['note']}", highlight=False)
    if record:
        with handle_errors():
            from openlfr.service.equality import record_equality

            kept = record_equality(OPTIONS.settings(), result, group_by or "", datetime.now(UTC))
        err_console.print(f"equality evidence recorded: {kept}", highlight=False)
    _emit(result, json_out)
