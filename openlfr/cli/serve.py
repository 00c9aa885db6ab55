"""`openlfr serve` (the operator service under uvicorn) and `openlfr user` (accounts)."""

from __future__ import annotations

import getpass

import typer

from openlfr.cli.common import ANONYMOUS, OPTIONS, acting, console, handle_errors
from openlfr.cli.login import read_password

MAX_BOOTSTRAP_ADMINS = 2
app = typer.Typer(
    help="Accounts of the operator service.", no_args_is_help=True, rich_markup_mode=None
)


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8000)."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Session cookie only over HTTPS (use behind TLS)."
    ),
) -> None:
    """Run the operator service (web pages and API).

    Live alerts, deployments, watchlists and the public record.
    """
    import uvicorn

    from openlfr.api import create_app

    with handle_errors():
        settings = OPTIONS.settings()
        web = settings.web.model_copy(
            update={
                k: v
                for k, v in {
                    "host": host,
                    "port": port,
                    "secure_cookies": secure_cookies or None,
                }.items()
                if v is not None
            }
        )
        settings = settings.model_copy(update={"web": web})
        application = create_app(settings)
    console.print(f"openlfr operator service on http://{web.host}:{web.port}/ (Ctrl-C stops)")
    # One process: the live feed, the log-in limiter and in-process runs live in its memory.
    uvicorn.run(application, host=web.host, port=web.port, log_level="info", server_header=False)


def _add(
    username: str,
    role: str,
    display_name: str,
    rank: str | None,
    password_stdin: bool,
    *,
    command: str,
    anonymous: str = ANONYMOUS,
) -> None:
    from openlfr.api.accounts import count_accounts, create_account
    from openlfr.errors import RuleViolation
    from openlfr.store.models_accounts import Role

    with acting(command, anonymous=anonymous) as (ctx, _):
        if (
            command == "user create-admin"
            and count_accounts(ctx.store, Role.ADMIN) >= MAX_BOOTSTRAP_ADMINS
        ):
            # Two administrators can each repair the other's account; beyond that an admin is
            # added by an admin, under their own account and in the audit log.
            raise RuleViolation(
                "accounts",
                f"this store already has {MAX_BOOTSTRAP_ADMINS} administrators: log in as one "
                "and use `openlfr user add NAME --role admin`",
            )
        create_account(
            ctx.store,
            username=username,
            password=read_password(password_stdin, confirm=True),
            role=role,
            display_name=display_name,
            rank=rank,
            created_by=ctx.actor,
        )
    console.print(f"account [bold]{username}[/] created ({role})")


@app.command("create-admin")
def create_admin(
    username: str = typer.Argument("admin"),
    display_name: str = typer.Option("", help="Full name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Create one of the first two administrators; needs no login.

    Refused once the store has two administrators: then an admin adds accounts with
    `openlfr user add`.
    """
    _add(
        username,
        "admin",
        display_name,
        None,
        password_stdin,
        command="user create-admin",
        anonymous=f"system:create-admin (OS user {getpass.getuser()})",
    )


@app.command("add")
def add(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="operator, supervisor, authorising_officer, auditor, admin"),
    display_name: str = typer.Option("", help="Full name (shown on authorisations)."),
    rank: str | None = typer.Option(None, help="Police rank (required for authorising_officer)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Add an account (administrator)."""
    _add(username, role, display_name, rank, password_stdin, command="user add")
