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
    exceptional,
    governance,
    login,
    notices,
    report,
    search,
    serve,
    subject_access,
    users,
    watchlists,
)
from openlfr.cli.common import OPTIONS

app = typer.Typer(
    help="openlfr: live facial recognition with the law built in.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: click rewraps each paragraph to the terminal and shows no type after a flag.
    rich_markup_mode=None,
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
) -> None:
    """Commands act under the account you log in as (`openlfr login NAME`); its role decides
    what you may do, as on the web, and the audit log names it."""
    OPTIONS.data_dir, OPTIONS.db = data_dir, db


app.command("login")(login.login)
app.command("logout")(login.logout)
app.command("whoami")(login.whoami)
app.command("enrol")(enrol.enrol)
app.command("reassess")(enrol.reassess_command)
app.add_typer(watchlists.app, name="watchlist")
from openlfr.cli import custody as _custody  # noqa: E402

app.add_typer(_custody.app, name="custody")
app.add_typer(deployments.app, name="deployment")
app.add_typer(alerts.app, name="alerts")
app.add_typer(exceptional.app, name="exceptional")
app.add_typer(evaluate.app, name="eval")
app.add_typer(audit.app, name="audit")
app.command("demo")(demo.demo)
app.command("calibrate")(calibrate.calibrate)
app.command("purge")(governance.purge_command)
app.command("case-outcome")(governance.case_outcome_command)
watchlists.app.command("members")(governance.members_command)
app.command("report")(report.report)
app.command("serve")(serve.serve)
app.command("search")(search.search)
app.command("notices")(notices.notices)
app.command("subject-access")(subject_access.subject_access_command)
app.add_typer(users.app, name="user")


def main() -> None:
    app()
