"""The `openlfr` command."""

from __future__ import annotations

from pathlib import Path

import typer

from openlfr.cli import (
    alerts,
    audit,
    calibrate,
    demo,
    deployments,
    enrol,
    evaluate,
    governance,
    report,
    serve,
    watchlists,
)
from openlfr.cli.common import OPTIONS

app = typer.Typer(
    help="openlfr: live facial recognition with the law built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


@app.callback()
def _global(
    data_dir: Path | None = typer.Option(
        None,
        "--store-dir",
        help="Where the embedded database and key live (default: the user "
        "data directory; env OPENLFR_STORE__DATA_DIR).",
    ),
    db: Path | None = typer.Option(None, "--db", help="SQLite database file to use."),
    actor: str | None = typer.Option(
        None, "--as", help="Who is acting, for the audit log (default: $OPENLFR_ACTOR or login)."
    ),
) -> None:
    OPTIONS.data_dir, OPTIONS.db, OPTIONS.actor = data_dir, db, actor


app.command("enrol")(enrol.enrol)
app.add_typer(watchlists.app, name="watchlist")
app.add_typer(deployments.app, name="deployment")
app.add_typer(alerts.app, name="alerts")
app.add_typer(evaluate.app, name="eval")
app.add_typer(audit.app, name="audit")
app.command("demo")(demo.demo)
app.command("calibrate")(calibrate.calibrate)
app.command("purge")(governance.purge_command)
app.command("case-outcome")(governance.case_outcome_command)
watchlists.app.command("members")(governance.members_command)
app.command("report")(report.report)
app.command("serve")(serve.serve)
app.add_typer(serve.app, name="user")


def main() -> None:
    app()
