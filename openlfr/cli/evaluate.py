"""`openlfr eval`: measuring entry points (their interfaces are fixed: checks drive them)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress, TextColumn, TimeElapsedColumn

from openlfr.cli.common import OPTIONS, err_console, handle_errors
from openlfr.evaluation.video import eval_video

app = typer.Typer(help="Measure accuracy and speed.", no_args_is_help=True)


@app.command("video")
def video(
    video_file: Path = typer.Option(..., "--video", help="Video file to run the pipeline on."),
    watchlist: Path = typer.Option(..., "--watchlist", help="DIR/<identity>/<images>."),
    threshold: float | None = typer.Option(None, help="Alert threshold (default: settings)."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the JSON here."),
) -> None:
    """Run the live pipeline over a file as fast as it can on a throw-away store; print JSON."""
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
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n")
