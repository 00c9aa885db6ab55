"""`openlfr login`, `logout` and `whoami`: the command line acts under an account."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.markup import escape

from openlfr.cli.common import OPTIONS, console, err_console, handle_errors
from openlfr.cli.session import (
    ENV_TOKEN,
    LoginNeeded,
    SavedLogin,
    current_principal,
    forget_login,
    load_login,
    save_login,
    store_identity,
)
from openlfr.config import StoreSettings
from openlfr.service.accounts import authenticate
from openlfr.service.sessions import issue_session, resolve_token, revoke_session
from openlfr.store import Store, open_store
from openlfr.store.models_accounts import SessionKind


@contextmanager
def _opened(settings: StoreSettings) -> Iterator[Store]:
    store = open_store(settings)
    try:
        yield store
    finally:
        store.dispose()


def read_password(password_stdin: bool, *, confirm: bool = False) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def login(
    username: str = typer.Argument(..., help="Your account's username."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin (first line)."
    ),
    print_token: bool = typer.Option(
        False,
        "--print-token",
        help="Print the token instead of keeping it (for OPENLFR_TOKEN or the API).",
    ),
) -> None:
    """Log in as an account for the commands that follow.

    Every later command acts under this account, and its role decides, as on the web.

    The token is kept in your config folder, readable by you only, for the store it was issued
    by. It lasts as long as an API token (web.token_hours) and works on the API as well.
    """
    with handle_errors():
        settings = OPTIONS.settings()
        with _opened(settings.store) as store:
            account = authenticate(store, username, read_password(password_stdin))
            if account is None:
                raise LoginNeeded("wrong username or password (or the account is disabled)")
            client = f"cli {getpass.getuser()}@{socket.gethostname()}"
            token, _ = issue_session(
                store, account.id, SessionKind.BEARER, settings.web.token_hours, client
            )
            name, role = account.username, account.role
            if not print_token:
                try:
                    path = save_login(SavedLogin(token, store_identity(settings.store), name))
                except LoginNeeded:
                    revoke_session(store, token)  # a token nobody holds must not stay valid
                    raise
    if print_token:
        typer.echo(token)
        return
    console.print(
        f"logged in as [bold]{escape(name)}[/] ({role}) for {settings.web.token_hours:g} h; "
        f"token kept in {escape(str(path))}",
        highlight=False,
    )
    if os.environ.get(ENV_TOKEN, "").strip():
        err_console.print(
            f"[yellow]note[/]: ${ENV_TOKEN} is set and takes precedence over this login"
        )


def logout() -> None:
    """Log out: revoke the kept token and delete its file."""
    with handle_errors():
        settings = OPTIONS.settings()
        identity = store_identity(settings.store)
        saved = load_login()
        env = os.environ.get(ENV_TOKEN, "").strip()
        with _opened(settings.store) as store:
            if saved is not None and saved.store == identity:
                revoke_session(store, saved.token)
            if env and resolve_token(store, env, SessionKind.BEARER) is not None:
                revoke_session(store, env)
    if saved is None and not env:
        console.print("not logged in")
        return
    if saved is not None:
        forget_login()
        where = "" if saved.store == identity else f" (its token stays valid in {saved.store})"
        console.print(f"logged out {escape(saved.username)}{escape(where)}", highlight=False)
    if env:
        console.print(f"${ENV_TOKEN} revoked: unset it too", highlight=False)


def whoami() -> None:
    """Show the account commands act under.

    Prints its username, name, role and rank, and the store.
    """
    with handle_errors():
        settings = OPTIONS.settings()
        identity = store_identity(settings.store)
        with _opened(settings.store) as store:
            who = current_principal(store, identity)
    for label, value in (
        ("username", who.username),
        ("name", who.display_name),
        ("role", who.role.value),
        ("rank", who.rank or "-"),
        ("store", identity),
    ):
        console.print(f"{label}: {escape(value)}", highlight=False)
