"""Who is at the keyboard: the bearer token that `openlfr login` keeps for this OS user.

The token is the API's own (`POST /api/token` issues the same kind), so one login works on
both; only its SHA-256 is in the store, and logging out deletes that row. The file holds the
token and the store it was issued for: a token is only ever sent to that store, and using
another store says so instead of failing as "wrong token".
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from platformdirs import user_config_dir
from sqlalchemy.engine import make_url

from openlfr.cli.roles import ROLES, role_names
from openlfr.config import StoreSettings
from openlfr.errors import OpenLFRError
from openlfr.service.sessions import Principal, resolve_token
from openlfr.store import Store
from openlfr.store.models_accounts import SessionKind

ENV_TOKEN = "OPENLFR_TOKEN"
ENV_CONFIG_DIR = "OPENLFR_CONFIG_DIR"
TOKEN_FILE = "token.json"
LOGIN_HINT = "log in with `openlfr login NAME --password-stdin` (or set OPENLFR_TOKEN)"


class LoginNeeded(OpenLFRError):
    """No usable login, or an account whose role may not run the command."""


@dataclass(frozen=True)
class SavedLogin:
    token: str
    store: str
    username: str


def config_dir() -> Path:
    env = os.environ.get(ENV_CONFIG_DIR, "").strip()
    return Path(env) if env else Path(user_config_dir("openlfr", appauthor=False))


def token_path() -> Path:
    return config_dir() / TOKEN_FILE


def store_identity(settings: StoreSettings) -> str:
    """The store's URL, comparable across working directories and without any password."""
    url = make_url(settings.resolved_url())
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        url = url.set(database=str(Path(str(url.database)).resolve()))
    return url.render_as_string(hide_password=True)


def save_login(login: SavedLogin) -> Path:
    """Writes the token readable by this OS user only (folder 0700, file 0600), atomically."""
    folder = config_dir()
    path, tmp = folder / TOKEN_FILE, folder / f".{TOKEN_FILE}.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder.chmod(0o700)
        # Created 0600 from the start: a chmod after writing would leave a window open.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(login), f)
        os.replace(tmp, path)
    except OSError as exc:
        raise LoginNeeded(
            f"cannot keep the token privately in {folder} ({exc.strerror}): set "
            f"{ENV_CONFIG_DIR} to a folder of your own, or use --print-token"
        ) from None
    return path


def load_login() -> SavedLogin | None:
    path = token_path()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LoginNeeded(
            f"{path} can be read by other users, so its token may be known: run `openlfr "
            "logout` and log in again"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SavedLogin(str(data["token"]), str(data["store"]), str(data["username"]))
    except (ValueError, KeyError, TypeError):
        raise LoginNeeded(f"{path} is not a login file: delete it and log in again") from None


def forget_login() -> bool:
    try:
        token_path().unlink()
    except FileNotFoundError:
        return False
    return True


def current_principal(store: Store, identity: str) -> Principal:
    """The logged-in account: $OPENLFR_TOKEN first, else the saved login for this store."""
    env = os.environ.get(ENV_TOKEN, "").strip()
    if env:
        who = resolve_token(store, env, SessionKind.BEARER)
        if who is None:
            raise LoginNeeded(
                f"$OPENLFR_TOKEN is not a valid token for the store {identity} (expired, revoked "
                "or issued by another store): unset it or get a new one with `openlfr login "
                "NAME --password-stdin --print-token`"
            )
        return who
    saved = load_login()
    if saved is None:
        raise LoginNeeded(f"you are not logged in: {LOGIN_HINT}")
    if saved.store != identity:
        raise LoginNeeded(
            f"your login ({saved.username}) is for the store {saved.store}, not {identity}: "
            f"{LOGIN_HINT} to this store"
        )
    who = resolve_token(store, saved.token, SessionKind.BEARER)
    if who is None:
        raise LoginNeeded(
            f"the login of {saved.username} has expired or was ended (logout, account disabled "
            f"or password reset): {LOGIN_HINT}"
        )
    return who


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def needs(command: str) -> str:
    """'a supervisor account', 'an operator or supervisor account'."""
    roles = ROLES[command]
    assert roles is not None
    return f"{_a(role_names(roles))} account"


def check_role(command: str, who: Principal | None) -> None:
    """Raises LoginNeeded unless `who` may run `command` (see openlfr.cli.roles.ROLES)."""
    roles = ROLES[command]
    if roles is None:
        return
    if who is None:
        raise LoginNeeded(f"`openlfr {command}` needs {needs(command)}: {LOGIN_HINT}")
    if who.role not in roles:
        raise LoginNeeded(
            f"`openlfr {command}` needs {needs(command)}; {who.username} is "
            f"{_a(who.role.value)}: log in as the right account with "
            "`openlfr login NAME --password-stdin`"
        )
