"""What every command shares: settings from global options, the console, clean errors."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from openlfr.config import Settings, StoreSettings
from openlfr.errors import OpenLFRError, RuleViolation
from openlfr.service.context import AppContext

console = Console()
err_console = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class GlobalOptions:
    data_dir: Path | None = None
    db: Path | None = None
    actor: str | None = None

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

    def who(self) -> str:
        return self.actor or os.environ.get("OPENLFR_ACTOR") or getpass.getuser()


OPTIONS = GlobalOptions()


@contextmanager
def app_context() -> Iterator[AppContext]:
    """Opens the store for one command and turns expected errors into one clear line."""
    with handle_errors():
        ctx = AppContext.open(OPTIONS.settings(), OPTIONS.who())
        try:
            yield ctx
        finally:
            ctx.close()


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
