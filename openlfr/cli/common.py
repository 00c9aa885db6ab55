"""What every command shares: settings from global options, the acting account, the console,
clean errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from openlfr.cli.roles import ROLES
from openlfr.cli.session import (
    LoginNeeded,
    check_role,
    current_principal,
    needs,
    store_identity,
)
from openlfr.config import Settings, StoreSettings
from openlfr.errors import OpenLFRError, RuleViolation
from openlfr.service.context import AppContext
from openlfr.service.sessions import Principal

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])
# The audit actor of a command that needs no account, run without one.
ANONYMOUS = "anonymous (command line, no login)"


@dataclass
class GlobalOptions:
    data_dir: Path | None = None
    db: Path | None = None

    def settings(self) -> Settings:
        base = Settings()
        store = base.store
        updates: dict[str, Any] = {}
        if self.data_dir is not None:
            updates["data_dir"] = self.data_dir
        if self.db is not None:
            updates["database_url"] = f"sqlite:///{self.db.resolve()}"
            updates.setdefault("data_dir", self.db.resolve().parent)
        if updates:
            store = StoreSettings(**{**store.model_dump(), **updates})
        return base.model_copy(update={"store": store})


OPTIONS = GlobalOptions()


@contextmanager
def acting(
    command: str, *, anonymous: str = ANONYMOUS, settings: Settings | None = None
) -> Iterator[tuple[AppContext, Principal | None]]:
    """Opens the store for one command under the logged-in account, after checking that its
    role may run `command` (openlfr.cli.roles.ROLES); expected errors become one clear line.

    A command that needs no account still acts under one when a valid login is at hand, so
    the audit log names the person; otherwise under `anonymous`."""
    with handle_errors():
        settings = settings or OPTIONS.settings()
        ctx = AppContext.open(settings, anonymous)
        try:
            try:
                who: Principal | None = current_principal(ctx.store, store_identity(settings.store))
            except LoginNeeded as exc:
                if ROLES[command] is not None:
                    msg = f"`openlfr {command}` needs {needs(command)}, but {exc}"
                    raise LoginNeeded(msg) from None
                who = None
            check_role(command, who)
            if who is not None:
                ctx.actor = who.username
            yield ctx, who
        finally:
            ctx.close()


@contextmanager
def app_context(command: str, *, anonymous: str = ANONYMOUS) -> Iterator[AppContext]:
    with acting(command, anonymous=anonymous) as (ctx, _):
        yield ctx


@contextmanager
def handle_errors() -> Iterator[None]:
    try:
        yield
    except RuleViolation as exc:
        err_console.print(f"[bold red]refused[/] ({exc.rule}): {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
    except (OpenLFRError, FileNotFoundError, ValueError) as exc:
        err_console.print(f"[bold red]error[/]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(2) from None
