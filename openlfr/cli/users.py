"""`openlfr user`: accounts. The first two administrators come from `create-admin`; after that
an administrator adds accounts, and the admin and authorising-officer roles and any rank wait
for a second administrator (`approve`)."""

from __future__ import annotations

import getpass

import typer
from rich.markup import escape

from openlfr.cli.common import acting, console
from openlfr.cli.login import read_password
from openlfr.service import account_grants, accounts

app = typer.Typer(
    help="Accounts of the operator service.", no_args_is_help=True, rich_markup_mode=None
)
REASON = typer.Option(..., "--reason", help="Why (goes into the audit log).")


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
    `openlfr user add`, and a second admin approves admin and authorising-officer accounts.
    """
    anonymous = f"system:create-admin (OS user {getpass.getuser()})"
    with acting("user create-admin", anonymous=anonymous) as (ctx, _):
        accounts.create_first_admin(
            ctx.store, username=username, password=read_password(password_stdin, confirm=True),
            display_name=display_name, created_by=ctx.actor,
        )  # fmt: skip
    console.print(f"account [bold]{escape(username)}[/] created (admin)", highlight=False)


@app.command("add")
def add(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="operator, supervisor, authorising_officer, auditor, admin"),
    display_name: str = typer.Option("", help="Full name (shown on authorisations)."),
    rank: str | None = typer.Option(None, help="Police rank (required for authorising_officer)."),
    reason: str = REASON,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
) -> None:
    """Add an account (administrator).

    An admin or authorising-officer account, or one with a rank, cannot log in until another
    administrator approves it (`openlfr user approve NAME`).
    """
    with acting("user add") as (ctx, _):
        _, pending = accounts.add_account(
            ctx.store, actor=ctx.actor, username=username,
            password=read_password(password_stdin, confirm=True), role=role,
            display_name=display_name, rank=rank, reason=reason,
        )  # fmt: skip
    tail = "; awaits approval by another administrator" if pending else ""
    console.print(f"account [bold]{escape(username)}[/] created ({role}){tail}", highlight=False)


@app.command("grant")
def grant(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="The account's new (one) role."),
    rank: str | None = typer.Option(None, help="Police rank (authorising_officer)."),
    reason: str = REASON,
) -> None:
    """Give an account a new role or rank (administrator).

    The admin and authorising-officer roles and any rank wait for another administrator's
    approval.
    """
    with acting("user grant") as (ctx, _):
        pending = account_grants.request_grant(
            ctx.store, username, role=role, rank=rank, actor=ctx.actor, reason=reason
        )
    state = "awaits approval by another administrator" if pending else "done"
    console.print(f"{escape(username)}: role {escape(role)} {state}", highlight=False)


def _decide(username: str, reason: str, *, approve: bool) -> None:
    command = "user approve" if approve else "user reject"
    with acting(command) as (ctx, _):
        status = account_grants.decide_grant(
            ctx.store, username, approve=approve, actor=ctx.actor, reason=reason
        )
    console.print(f"grant of {escape(username)} {status}", highlight=False)


@app.command("approve")
def approve(username: str = typer.Argument(...), reason: str = REASON) -> None:
    """Approve an account's pending grant.

    Only an administrator other than the one who asked may approve it.
    """
    _decide(username, reason, approve=True)


@app.command("reject")
def reject(username: str = typer.Argument(...), reason: str = REASON) -> None:
    """Reject an account's pending grant.

    A new account then stays unable to log in.
    """
    _decide(username, reason, approve=False)


@app.command("pending")
def pending() -> None:
    """List the grants awaiting a second administrator."""
    with acting("user pending") as (ctx, _):
        grants = account_grants.pending_grants(ctx.store)
    if not grants:
        console.print("nothing awaits approval")
    for g in grants:
        rank = f", {g.rank}" if g.rank else ""
        console.print(
            f"{escape(g.username)}: {g.role}{escape(rank)} asked by {escape(g.requested_by)} "
            f"({escape(g.reason)})",
            highlight=False,
        )
