"""The command line acts under an account: `openlfr login / logout / whoami`, $OPENLFR_TOKEN,
the token file (0600 in a 0700 folder, tied to its store), the role table, the audit actor,
and `user create-admin` only while the store has fewer than two admins."""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_support import ACCOUNTS, PASSWORD, Db
from suite import SHARED_DATA
from typer.testing import Result

from openlfr.cli import app
from openlfr.cli.roles import ROLES
from openlfr.cli.session import store_identity
from openlfr.config import StoreSettings

pytestmark = pytest.mark.usefixtures("shared_data")
Cli = Callable[..., Result]
Login = Callable[[str], None]
IMAGE = SHARED_DATA / "lfw" / "images" / "AJ_Cook" / "AJ_Cook_0001.jpg"
# Commands that open no store of the force, so no account could decide anything there.
NO_STORE = {"login", "logout", "whoami", "serve", "calibrate"}


def _one_line(result: Result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def _bearer_rows(db: Db) -> int:
    return int(db.query("SELECT count(*) FROM web_sessions WHERE kind = 'bearer'")[0][0])


def test_login_keeps_a_private_token_whoami_and_logout_revokes_it(
    cli: Cli, login: Login, db: Db, tmp_path: Path
) -> None:
    login("ao")
    folder = tmp_path / "config"
    token_file = folder / "token.json"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert _bearer_rows(db) == 1

    who = cli("whoami")
    assert who.exit_code == 0, who.output
    assert "username: ao\n" in who.stdout
    assert "name: Alex Smith\n" in who.stdout
    assert "role: authorising_officer\n" in who.stdout
    assert "rank: superintendent\n" in who.stdout

    out = cli("logout")
    assert out.exit_code == 0 and "logged out ao" in out.stdout
    assert not token_file.exists()
    assert _bearer_rows(db) == 0  # revoked in the store, not only forgotten here
    after = cli("whoami")
    assert after.exit_code == 2 and "not logged in" in _one_line(after)


def test_a_group_readable_token_file_is_refused(cli: Cli, login: Login, tmp_path: Path) -> None:
    login("sup")
    (tmp_path / "config" / "token.json").chmod(0o644)
    result = cli("whoami")
    assert result.exit_code == 2 and "can be read by other users" in _one_line(result)


def test_wrong_password_keeps_nothing(cli: Cli, accounts: object, tmp_path: Path) -> None:
    result = cli("login", "sup", "--password-stdin", input="not the password\n")
    assert result.exit_code == 2
    assert "wrong username or password" in _one_line(result)
    assert not (tmp_path / "config" / "token.json").exists()


def test_print_token_and_openlfr_token_take_precedence(
    cli: Cli, login: Login, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = cli("login", "ops", "--password-stdin", "--print-token", input=PASSWORD + "\n")
    assert printed.exit_code == 0, printed.output
    token = printed.stdout.strip()
    assert len(token) >= 40 and "\n" not in token
    assert not (tmp_path / "config" / "token.json").exists()  # printed, not kept

    login("sup")
    monkeypatch.setenv("OPENLFR_TOKEN", token)
    assert "username: ops\n" in cli("whoami").stdout
    # The operator's token decides, not the supervisor's login kept on disk.
    refused = cli("watchlist", "build", "--name", "x")
    assert refused.exit_code == 2 and "needs a supervisor account; ops is an operator" in (
        _one_line(refused)
    )
    monkeypatch.setenv("OPENLFR_TOKEN", "forged-token")
    bad = cli("whoami")
    assert bad.exit_code == 2 and "$OPENLFR_TOKEN is not a valid token" in _one_line(bad)


def test_a_token_from_another_store_is_named_as_such(
    cli: Cli, login: Login, tmp_path: Path, store_settings: StoreSettings
) -> None:
    login("sup")
    other = tmp_path / "other-store" / "openlfr.db"
    other.parent.mkdir()
    result = cli("--db", other, "enrol", "--ref", "P", "--category", "suspect",
                 "--source", "C", IMAGE)  # fmt: skip
    assert result.exit_code == 2
    line = _one_line(result)
    assert "needs a supervisor account" in line and "login (sup) is for the store" in line
    assert store_identity(store_settings) in line and f"sqlite:///{other}" in line


def test_a_disabled_account_stops_at_once(
    cli: Cli, login: Login, store_settings: StoreSettings
) -> None:
    from openlfr.service.accounts import set_disabled
    from openlfr.store import open_store

    login("ops")
    store = open_store(store_settings)
    try:
        set_disabled(store, "ops", disabled=True, actor="admin", reason="left the force")
    finally:
        store.dispose()
    result = cli("alerts", "list")
    assert result.exit_code == 2 and "has expired or was ended" in _one_line(result)


# Each command with the role it needs and an account that does not have it.
WRONG_ROLE = [
    (("enrol", "--ref", "P", "--category", "suspect", "--source", "C", IMAGE), "ao",
     "supervisor"),
    (("watchlist", "build", "--name", "W"), "ops", "supervisor"),
    (("case-outcome", "C", "charged"), "ops", "supervisor"),
    (("exceptional", "list"), "ao", "supervisor"),
    (("deployment", "create", "--name", "n", "--purpose", "p", "--location", "l",
      "--location-reason", "r", "--watchlist", "1", "--camera", "c=x"), "ops", "supervisor"),
    (("deployment", "withdraw", "1", "--reason", "r"), "ao", "supervisor"),
    (("deployment", "authorise", "1", "--reasons", "r"), "ops", "authorising_officer"),
    (("deployment", "authorise", "1", "--reasons", "r"), "sup", "authorising_officer"),
    (("deployment", "refuse", "1", "--reason", "r"), "sup", "authorising_officer"),
    (("deployment", "return", "1", "--reason", "r"), "sup", "authorising_officer"),
    (("deployment", "run", "1"), "ao", "operator or supervisor"),
    (("deployment", "stop", "1"), "aud", "operator or supervisor"),
    (("alerts", "list"), "ao", "operator or supervisor"),
    (("alerts", "adjudicate", "1", "confirmed", "--reason", "r"), "sup", "operator"),
    (("alerts", "outcome", "1", "arrested"), "sup", "operator"),
    (("audit", "export", "--from", "2026-01-01", "--to", "2027-01-01"), "admin", "auditor"),
    (("user", "add", "x.y", "--role", "operator", "--reason", "r", "--password-stdin"), "sup",
     "admin"),
    (("user", "approve", "x.y", "--reason", "r"), "ao", "admin"),
    (("user", "reject", "x.y", "--reason", "r"), "sup", "admin"),
    (("user", "grant", "ops", "--role", "authorising_officer", "--rank", "inspector",
      "--reason", "r"), "ao", "admin"),
    (("user", "pending",), "aud", "admin"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "who", "needed"), WRONG_ROLE)
def test_the_wrong_role_is_refused_with_one_line(
    cli: Cli, login: Login, db: Db, args: tuple[object, ...], who: str, needed: str
) -> None:
    login(who)
    audit_before = db.count("audit_log")
    result = cli(*args, input=PASSWORD + "\n")
    assert result.exit_code == 2, result.output
    line = _one_line(result)
    article = "an" if needed[0] in "aeiou" else "a"
    assert f"needs {article} {needed} account; {who} is " in line, line
    assert "openlfr login NAME --password-stdin" in line
    assert db.count("audit_log") == audit_before


@pytest.mark.parametrize(("args", "_who", "needed"), WRONG_ROLE[:3])
def test_without_a_login_a_command_says_how_to_log_in(
    cli: Cli, accounts: object, args: tuple[object, ...], _who: str, needed: str
) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    line = _one_line(result)
    assert f"needs a {needed} account, but you are not logged in" in line
    assert "openlfr login NAME --password-stdin" in line


def _command_paths() -> list[str]:
    import typer.main

    def walk(cmd: object, prefix: str) -> list[str]:
        subs = getattr(cmd, "commands", None)
        if not subs:
            return [prefix]
        return [p for name, sub in subs.items() for p in walk(sub, f"{prefix} {name}".strip())]

    return walk(typer.main.get_command(app), "")


def test_every_command_that_opens_the_store_is_in_the_one_role_table() -> None:
    paths = _command_paths()
    missing = [p for p in paths if p not in ROLES and p not in NO_STORE and p.split()[0] != "eval"]
    assert missing == []
    assert {"login", "logout", "whoami", "exceptional approve", "deployment amend"} <= set(paths)


def test_as_and_openlfr_actor_are_gone_the_audit_actor_is_the_account(
    cli: Cli, login: Login, db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = cli("--as", "chief.constable", "whoami")
    assert gone.exit_code == 2 and "No such option" in gone.output
    monkeypatch.setenv("OPENLFR_ACTOR", "chief.constable")
    login("sup")
    result = cli("enrol", "--ref", "PNC-1", "--category", "suspect", "--source", "C-1",
                 "--age", "30", IMAGE)  # fmt: skip
    assert result.exit_code == 0, result.output
    sql = "SELECT DISTINCT actor FROM audit_log WHERE coalesce(event, '') != 'account_created'"
    actors = {a for (a,) in db.query(sql)}
    assert actors == {"sup"}


def test_create_admin_only_while_fewer_than_two_admins(cli: Cli, db: Db) -> None:
    for name in ("first.admin", "second.admin"):
        made = cli("user", "create-admin", name, "--password-stdin", input=PASSWORD + "\n")
        assert made.exit_code == 0, made.output
    third = cli("user", "create-admin", "third.admin", "--password-stdin", input=PASSWORD + "\n")
    assert third.exit_code == 2
    assert "already has 2 administrators" in _one_line(third)
    assert "openlfr user add" in _one_line(third)

    # An admin adds accounts under their own name.
    logged = cli("login", "first.admin", "--password-stdin", input=PASSWORD + "\n")
    assert logged.exit_code == 0
    added = cli("user", "add", "pc.new", "--role", "operator", "--reason", "joined",
                "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    rows = db.query("SELECT username, created_by FROM accounts ORDER BY id")
    assert rows[2] == ("pc.new", "first.admin")
    assert rows[0][1].startswith("system:create-admin")


def test_an_authorising_officer_waits_for_a_second_admin(cli: Cli, db: Db) -> None:
    for name in ("first.admin", "second.admin"):
        made = cli("user", "create-admin", name, "--password-stdin", input=PASSWORD + "\n")
        assert made.exit_code == 0, made.output
    assert cli("login", "first.admin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    added = cli("user", "add", "insp.new", "--role", "authorising_officer", "--rank",
                "superintendent", "--reason", "posting order 24/117", "--password-stdin",
                input=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "awaits approval by another administrator" in added.stdout
    listed = cli("user", "pending")
    assert "insp.new: authorising_officer, superintendent asked by first.admin" in listed.stdout
    own = cli("user", "approve", "insp.new", "--reason", "mine")
    assert own.exit_code == 2 and "other than the one who asked" in _one_line(own)
    refused = cli("login", "insp.new", "--password-stdin", input=PASSWORD + "\n")
    assert refused.exit_code == 2  # cannot log in yet

    assert cli("login", "second.admin", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    approved = cli("user", "approve", "insp.new", "--reason", "order seen")
    assert approved.exit_code == 0 and "grant of insp.new approved" in approved.stdout
    assert cli("login", "insp.new", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    assert "rank: superintendent\n" in cli("whoami").stdout
    rows = db.query("SELECT actor, justification FROM audit_log WHERE event = ?",
                    "account_grant_approved")  # fmt: skip
    assert len(rows) == 1 and rows[0][0] == "second.admin" and "order seen" in rows[0][1]


def test_accounts_fixture_matches_the_role_names() -> None:
    roles = {role for role, _, _ in ACCOUNTS.values()}
    assert roles == {"admin", "supervisor", "authorising_officer", "operator", "auditor"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://lfr:s3cret@db.example/lfr", "postgresql+psycopg://lfr:***@db.example/lfr"),
        ("postgresql+psycopg://lfr@db/lfr?options=-csearch_path%3Dt1", "postgresql+psycopg://lfr@db/lfr?options=-csearch_path%3Dt1"),
        ("sqlite:///relative/openlfr.db", "sqlite:///{cwd}/relative/openlfr.db"),
    ],
)  # fmt: skip
def test_store_identity_has_no_password_and_no_relative_path(url: str, expected: str) -> None:
    identity = store_identity(StoreSettings(data_dir=Path("x"), database_url=url))
    assert identity == expected.format(cwd=Path.cwd())


def test_one_token_works_on_the_cli_and_the_api(
    cli: Cli, accounts: object, store_settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from openlfr.api import create_app
    from openlfr.config import Settings

    printed = cli("login", "ao", "--password-stdin", "--print-token", input=PASSWORD + "\n")
    token = printed.stdout.strip()
    settings = Settings().model_copy(update={"store": store_settings})
    service = create_app(settings)
    with TestClient(service, base_url="http://testserver") as client:
        me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["username"] == "ao"
        api = client.post("/api/token", json={"username": "sup", "password": PASSWORD})
        api_token = api.json()["access_token"]
    service.state.svc.store.dispose()
    # ... and a token from POST /api/token works on the command line.
    monkeypatch.setenv("OPENLFR_TOKEN", api_token)
    assert "username: sup\n" in cli("whoami").stdout


def test_a_token_is_never_kept_where_it_cannot_be_private(
    cli: Cli, accounts: object, db: Db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("OPENLFR_CONFIG_DIR", str(blocker / "config"))
    result = cli("login", "sup", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 2
    assert "cannot keep the token privately" in _one_line(result)
    assert _bearer_rows(db) == 0  # the unkept token was revoked
