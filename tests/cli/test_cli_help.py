"""Help that reads well at 80 columns: every command's help, from `openlfr --help` down.

No type after a plain flag (`--json <bool>`), no command summary cut off with "...", and each
paragraph filled to the width instead of broken where the source line happened to end."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator

import click
import pytest
import typer.main
from typer.testing import CliRunner

from openlfr.cli import app

WIDTH = 80


def _paths(cmd: click.Command, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _paths(sub, (*prefix, name))


PATHS = list(_paths(typer.main.get_command(app)))


def _help(path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", str(WIDTH))
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    return result.stdout


def _description(text: str) -> list[list[str]]:
    """The paragraphs between the usage line and the first section (Arguments/Options/...)."""
    body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    head = re.split(r"^\S.*:$", body, maxsplit=1, flags=re.M)[0]
    return [p.splitlines() for p in head.strip("\n").split("\n\n") if p.strip()]


def test_every_command_has_help() -> None:
    assert len(PATHS) > 40 and ("deployment", "authorise") in PATHS and ("login",) in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "openlfr")
def test_help_reads_well_at_80_columns(
    path: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _help(path, monkeypatch)
    assert "<bool>" not in text
    assert max(len(ln) for ln in text.splitlines()) <= WIDTH, text
    commands = text.split("\nCommands:\n", 1)
    if len(commands) == 2:
        assert "..." not in commands[1], commands[1]  # a summary cut off mid-sentence
    paragraphs = _description(text)
    assert paragraphs, text  # every command says what it does
    for para in paragraphs:
        for line, nxt in itertools.pairwise(para):
            # A line is broken early only if the next word would not have fitted on it.
            next_word = nxt.split()[0]
            assert len(line) + 1 + len(next_word) > WIDTH - 2, f"{line!r} / {nxt!r}\n{text}"
