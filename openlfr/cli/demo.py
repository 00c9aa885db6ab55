"""`openlfr demo`: enrol, refuse an ineligible image, authorise, run, report, in a store of
its own, never the force's."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from openlfr.cli.common import OPTIONS, acting, console, err_console, handle_errors
from openlfr.cli.session import store_identity
from openlfr.config import Settings, StoreSettings, default_data_dir
from openlfr.demo.material import builtin_material, shared_material
from openlfr.demo.scenario import run_demo

DEMO_ACTOR = "demo (openlfr demo)"


def demo_dir_default() -> Path:
    return default_data_dir() / "demo"


def demo_settings(demo_dir: Path | None) -> Settings:
    """The force's settings with the store swapped for the demo's own SQLite store.

    Built from the folder alone (no URL, key or key file from the environment), so that the
    demo's subjects, alerts and "demo operation" deployments can never land in the store that
    `openlfr serve` uses. A demo folder that is the force's store is refused."""
    force = OPTIONS.settings()
    store = StoreSettings(data_dir=(demo_dir or demo_dir_default()).expanduser().resolve())
    if store_identity(store) == store_identity(force.store):
        raise ValueError(
            f"{store.data_dir} holds the force's own store: give the demo another --demo-dir"
        )
    # The demo's deployment runs the moment it is authorised: its throw-away store gives no
    # advance notice (R19), and says so below. The force's own store keeps its notice period.
    quick = force.accountability.model_copy(update={"notice_hours": 0.0})
    return force.model_copy(update={"store": store, "accountability": quick})


def demo(
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        help="Use the talking-head clips in this folder (../shared/data) instead of the "
        "built-in generated feed.",
    ),
    demo_dir: Path | None = typer.Option(
        None,
        "--demo-dir",
        help="The demo's own store (default: a 'demo' folder in the user data directory). "
        "The demo never uses the store given by --store-dir or the environment.",
    ),
) -> None:
    """Run a whole demo deployment in a store of its own.

    Enrols, refuses an ineligible image, authorises, runs on built-in material and shows what
    happened. Needs no account; can be run again and again; never touches the force's store.
    """
    with handle_errors():
        settings = demo_settings(demo_dir)
    store_dir = settings.store.data_dir
    with (
        tempfile.TemporaryDirectory(prefix="openlfr-demo-") as tmp,
        acting("demo", anonymous=DEMO_ACTOR, settings=settings) as (ctx, _),
    ):
        ctx.actor = DEMO_ACTOR  # a login to the force's store means nothing here
        work = Path(tmp)
        with console.status("building the demo material"):
            mat = shared_material(data_dir, work) if data_dir else builtin_material(work)
        console.print(Panel(mat.description, title="openlfr demo"))
        console.print(f"demo store: {escape(str(store_dir))} (not your force's store)")
        console.print("public notice period: 0 h in the demo's store (the force's is kept, R19)")
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed} frames, {task.fields[alerts]} alerts"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(cam: str, frames: int, alerts: int) -> None:
                if cam not in tasks:
                    tasks[cam] = bar.add_task(f"camera {cam}", total=None, alerts=0)
                bar.update(tasks[cam], completed=frames, alerts=alerts)

            console.print("enrolling, compiling the watchlist, authorising, running…")
            result = run_demo(ctx, mat, progress)
    for r in result.refused:
        console.print(
            f"[yellow]{r.image and Path(r.image).name} refused[/]: {r.reason}", highlight=False
        )
    wl = result.watchlist
    console.print(
        f"watchlist {wl.id}: {wl.size} subjects ({wl.size_by_category}), "
        f"hash {wl.member_hash[:12]}…"
    )
    console.print(f"deployment {result.deployment_id} authorised by superintendent 'Demo Officer'")
    cams = Table(title="cameras")
    for col in ("camera", "frames", "face detections", "people (tracks)", "embedded", "alerts"):
        cams.add_column(col)
    cams.add_column("ended", overflow="fold")
    for c in result.run.cameras:
        cams.add_row(
            c.camera,
            str(c.frames),
            str(c.faces),
            str(c.tracks),
            str(c.embedded),
            str(c.alerts),
            c.end_reason,
        )
    console.print(cams)
    table = Table(title="alerts (each awaits a person's decision)")
    for col in ("alert", "camera", "subject", "score", "margin", "frames"):
        table.add_column(col)
    for a in result.alerts:
        table.add_row(
            str(a.id),
            a.camera,
            a.subject_ref,
            f"{a.score:.3f}",
            "no runner-up" if a.margin >= 2.0 else f"{a.margin:.3f}",
            f"{a.first_frame}-{a.last_frame}",
        )
    console.print(table)
    rec = result.record
    console.print(
        f"true alerts: {result.true_alerts}, false alerts: {result.false_alerts}; "
        f"people seen: {rec['people_seen']} (expected {mat.people}), face detections: "
        f"{rec['face_detections']}; of faces that did not match, only these counts were kept"
    )
    console.print(f"demo store: {escape(str(store_dir))}", highlight=False)
    console.print(
        "next: openlfr --store-dir "
        f"{escape(str(store_dir))} deployment record {result.deployment_id}",
        highlight=False,
    )
    if result.true_alerts < 1 or result.false_alerts:
        err_console.print("[red]demo did not end with a true alert and no false one[/]")
        raise typer.Exit(1)
