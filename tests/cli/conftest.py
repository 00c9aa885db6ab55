"""CLI fixtures: the `openlfr` app run in-process on a store in tmp_path; generated bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest
from cli_support import ACCOUNTS, PASSWORD
from typer.testing import CliRunner, Result

from openlfr.cli import app

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
LFW = DATA / "lfw" / "images"
KATIE_CLIP = DATA / "video" / "WDA_KatieHill_000.mp4"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Runs `openlfr --store-dir <tmp_path>/store ARGS...` in-process; returns the result with
    stdout and stderr apart. Rich is given a wide line so that each message stays on one line.
    Logins are kept under <tmp_path>/config; no $OPENLFR_TOKEN leaks in from outside."""
    from openlfr.cli import common

    monkeypatch.setenv("COLUMNS", "4000")
    monkeypatch.setenv("OPENLFR_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("OPENLFR_TOKEN", raising=False)
    monkeypatch.delenv("OPENLFR_ACTOR", raising=False)
    for console in (common.console, common.err_console):
        monkeypatch.setattr(console, "_width", None)
    runner = CliRunner()
    store = tmp_path / "store"

    def invoke(*args: object, store_dir: bool = True, input: str | None = None) -> Result:
        argv = [str(a) for a in args]
        if store_dir:
            argv = ["--store-dir", str(store), *argv]
        result = runner.invoke(app, argv, input=input)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


@pytest.fixture
def accounts(tmp_path: Path) -> dict[str, tuple[str, str | None, str]]:
    """The ACCOUNTS, created in the `cli` store (through the accounts module, as an admin's
    `openlfr user add` would; tests/cli/test_cli_accounts.py drives that command itself)."""
    from openlfr.api.accounts import create_account
    from openlfr.config import StoreSettings
    from openlfr.store import open_store

    store = open_store(StoreSettings(data_dir=tmp_path / "store"))
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


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    """The SQLite file that `cli` uses."""
    return tmp_path / "store" / "openlfr.db"


def frame_at(video: Path, seconds: float, out: Path) -> Path:
    """Saves the first frame at or after `seconds` of `video` as a JPEG (PyAV)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds:
                frame.to_image().save(out, quality=95)
                return out
    raise AssertionError(f"{video} has no frame at {seconds} s")


@pytest.fixture(scope="session")
def katie_clip_frames() -> int:
    """How many frames the WDA_KatieHill clip holds, counted by decoding it with PyAV."""
    with av.open(str(KATIE_CLIP)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.fixture(scope="session")
def katie_ref(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference photo of WDA_KatieHill: the clip's frame at 7.5 s."""
    return frame_at(KATIE_CLIP, 7.5, tmp_path_factory.mktemp("katie") / "ref.jpg")
