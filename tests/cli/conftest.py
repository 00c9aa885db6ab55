"""CLI fixtures: the `openlfr` app run in-process on the test's store (the root `store_settings`:
a SQLite file, and a fresh PostgreSQL schema), handed to the command through the environment
exactly as an operator's shell would (tests/store_support.store_env); generated bad files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest
from cli_support import ACCOUNTS, PASSWORD, Db
from store_support import store_env
from suite import SHARED_DATA, frame_at
from typer.testing import CliRunner, Result

from openlfr.cli import app
from openlfr.config import StoreSettings

LFW = SHARED_DATA / "lfw" / "images"
KATIE_CLIP = SHARED_DATA / "video" / "WDA_KatieHill_000.mp4"
_STORE_ENV = ("OPENLFR_STORE__DATA_DIR", "OPENLFR_STORE__DATABASE_URL", "OPENLFR_STORE__KEY")


@pytest.fixture(autouse=True)
def fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2 parameters (the production ones cost ~0.2 s a hash, and each test creates
    seven accounts; tests/security runs the production parameters)."""
    from argon2 import PasswordHasher

    from openlfr.service import accounts

    monkeypatch.setattr(accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def cli(
    store_settings: StoreSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Runs `openlfr ARGS...` in-process on the test's store; returns the result with stdout
    and stderr apart. Rich is given a wide line so that each message stays on one line.
    Logins are kept under <tmp_path>/config; no $OPENLFR_TOKEN leaks in from outside."""
    from openlfr.cli import common

    for name in _STORE_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in store_env(store_settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("COLUMNS", "4000")
    monkeypatch.setenv("OPENLFR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("OPENLFR_TOKEN", raising=False)
    monkeypatch.delenv("OPENLFR_ACTOR", raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)
    runner = CliRunner()

    def invoke(*args: object, input: str | None = None) -> Result:
        result = runner.invoke(app, [str(a) for a in args], input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


@pytest.fixture
def db(store_settings: StoreSettings) -> Iterator[Db]:
    handle = Db(store_settings)
    yield handle
    handle.engine.dispose()


@pytest.fixture
def accounts(store_settings: StoreSettings) -> dict[str, tuple[str, str | None, str]]:
    """The ACCOUNTS, created in the `cli` store (through the accounts module, as an admin's
    `openlfr user add` would; tests/cli/test_cli_accounts.py drives that command itself)."""
    from openlfr.service.accounts import create_account
    from openlfr.store import open_store

    store = open_store(store_settings)
    try:
        for username, (role, rank, name) in ACCOUNTS.items():
            create_account(
                store, username=username, password=PASSWORD, role=role, display_name=name,
                rank=rank, created_by="test setup",
            )  # fmt: skip
    finally:
        store.dispose()
    return ACCOUNTS


@pytest.fixture
def login(
    cli: Callable[..., Result], accounts: dict[str, tuple[str, str | None, str]]
) -> Callable[[str], None]:
    """login("sup"): later `cli` calls act under that account (`openlfr login`)."""

    def as_(username: str) -> None:
        result = cli("login", username, "--password-stdin", input=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
        assert f"logged in as {username} " in result.stdout

    return as_


@pytest.fixture(scope="session")
def katie_clip_frames(shared_data: Path) -> int:
    """How many frames the WDA_KatieHill clip holds, counted by decoding it with PyAV."""
    with av.open(str(KATIE_CLIP)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope="session")
def katie_ref(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    """A reference photo of WDA_KatieHill: the clip's frame at 7.5 s."""
    return frame_at(KATIE_CLIP, 7.5, tmp_path_factory.mktemp("katie") / "ref.jpg")
