"""`openlfr serve` (the operator service under uvicorn) and `openlfr user` (accounts)."""

from __future__ import annotations

import sys

import typer

from openlfr.cli.common import OPTIONS, console, handle_errors

app = typer.Typer(help="Accounts of the operator service.", no_args_is_help=True)


def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default 8000)."),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Session cookie only over HTTPS (use behind TLS)."
    ),
) -> None:
    """Run the operator service: live alerts, deployments, watchlists, public records."""
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


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _add(
    username: str, role: str, display_name: str, rank: str | None, password_stdin: bool
) -> None:
    from openlfr.api.accounts import create_account
    from openlfr.store import open_store

    with handle_errors():
        store = open_store(OPTIONS.settings().store)
        try:
            create_account(
                store,
                username=username,
                password=_password(password_stdin),
                role=role,
                display_name=display_name,
                rank=rank,
                created_by=OPTIONS.who(),
            )
        finally:
            store.dispose()
    console.print(f"account [bold]{username}[/] created ({role})")


@app.command("create-admin")
def create_admin(
    username: str = typer.Argument("admin"),
    display_name: str = typer.Option("", help="Full name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Create the first administrator (refused once any admin exists: then use the Users page)."""
    from openlfr.api.accounts import count_accounts
    from openlfr.errors import RuleViolation
    from openlfr.store import open_store
    from openlfr.store.models_accounts import Role

    with handle_errors():
        store = open_store(OPTIONS.settings().store)
        try:
            if count_accounts(store, Role.ADMIN):
                raise RuleViolation("accounts", "an administrator exists: add users as that admin")
        finally:
            store.dispose()
    _add(username, "admin", display_name, None, password_stdin)


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
    """Add an account (an administrator's act, from the server's own shell)."""
    _add(username, role, display_name, rank, password_stdin)
