"""Engine, migrations and the transactional session: the one write path into the store."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from openlfr.config import StoreSettings
from openlfr.errors import StoreBusy, StoreError, StoreFull
from openlfr.store.crypto import BlobCipher, blob_context
from openlfr.store.integrity import SESSION_KEY
from openlfr.store.integrity_keys import IntegrityKeys, open_keys
from openlfr.store.models import Base

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# A writer waits this long for another writer before SQLite gives up with "database is locked".
# Long enough to ride out a purge or a watchlist compile; short enough that a wedged process
# shows up as an error rather than a silent hang.
SQLITE_BUSY_TIMEOUT_MS = 15_000

_M = TypeVar("_M", bound=Base)

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_FULL_SQLSTATES = frozenset({"53100"})  # PostgreSQL disk_full
_BUSY_SQLSTATES = frozenset({"55P03"})  # PostgreSQL lock_not_available (lock_timeout)
_FULL_TEXTS = ("database or disk is full", "no space left on device", "could not extend file")


def database_location(url: str | URL) -> str:
    """The database file (SQLite) or the URL without its password: what errors name."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        return parsed.database
    return parsed.render_as_string(hide_password=True)


def store_failure(exc: BaseException, where: str) -> StoreError | None:
    """The one place a failed store write is named: a full database or disk (SQLite's
    "database or disk is full", PostgreSQL's disk_full, ENOSPC) becomes ``StoreFull``, any other
    file-system error or unopenable database a ``StoreError``, a lock held past the busy timeout
    ``StoreBusy``; each message names the file and
    the cause on one line. None: not a store failure (the caller re-raises it as it is)."""
    if isinstance(exc, OSError):
        where = str(exc.filename or where)
        cause = exc.strerror or str(exc)
        if exc.errno in _FULL_ERRNOS:
            return StoreFull(f"store full: {where}: {cause}")
        return StoreError(f"cannot write {where}: {cause}")
    if isinstance(exc, DBAPIError):
        cause = (str(exc.orig) if exc.orig is not None else str(exc)).strip().splitlines()[0]
        sqlstate = getattr(exc.orig, "sqlstate", None)
        if sqlstate in _FULL_SQLSTATES or any(t in cause.lower() for t in _FULL_TEXTS):
            return StoreFull(f"store full: {where}: {cause}")
        if sqlstate in _BUSY_SQLSTATES or "database is locked" in cause.lower():
            return StoreBusy(
                f"store busy: {where}: another writer held the database past the busy "
                f"timeout ({SQLITE_BUSY_TIMEOUT_MS} ms); nothing was written, try again ({cause})"
            )
        if "unable to open database file" in cause or "readonly database" in cause:
            return StoreError(f"cannot open database {where}: {cause}")
    return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    try:
        # busy_timeout first: the journal_mode switch itself may have to wait for a lock.
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        # WAL: readers (operator UI, reports) never block the camera writers, nor they them.
        cur.execute("PRAGMA journal_mode = WAL")
        # SQLite ignores foreign keys unless told, per connection.
        cur.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable against application crashes in WAL mode; only a power cut can lose
        # the last commits, and never corrupts the file.
        cur.execute("PRAGMA synchronous = NORMAL")
    finally:
        cur.close()


def private_database_file(path: Path) -> None:
    """Creates ``path`` (if missing) readable by its owner only and makes an existing one so, with
    its WAL and shared-memory files: it holds identities and the audit log, and SQLite would
    create it 0644 under the usual umask. SQLite gives the -wal and -shm files it creates later
    the main file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for side in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + side)
        if extra.exists():
            extra.chmod(0o600)


def private_folder(folder: Path) -> None:
    """Creates ``folder`` (if missing) and makes it private to its owner (0700) either way: an
    existing folder made by someone else's umask would let other users list and copy it."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if stat.S_IMODE(folder.stat().st_mode) != 0o700:
        folder.chmod(0o700)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite: parent folder created, WAL, foreign keys, busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        private_database_file(path)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config() -> Config:
    """Alembic settings built in code: the migrations ship inside the package, no alembic.ini."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` in one transaction (atomic on PostgreSQL)."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def missing_tables(engine: Engine) -> set[str]:
    """Tables the models expect that the database lacks (empty once migrated)."""
    present = set(inspect(engine).get_table_names())
    return set(Base.metadata.tables) - present


@dataclass(frozen=True)
class Store:
    """The database, its session factory and the blob cipher.

    Use ``with store.session() as s:`` for every unit of work: it commits when the block ends
    and rolls everything back if it raises, so an operation is all written or not at all.
    """

    engine: Engine
    sessions: sessionmaker[Session]
    cipher: BlobCipher
    keys: IntegrityKeys | None = None

    @property
    def location(self) -> str:
        return database_location(self.engine.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        try:
            with self.sessions.begin() as s:
                yield s
        except (DBAPIError, OSError) as exc:
            failure = store_failure(exc, self.location)
            if not isinstance(failure, StoreFull | StoreBusy):  # others keep their own type
                raise
            raise failure from exc

    def seal(self, session: Session, obj: _M, **blobs: bytes) -> _M:
        """Add ``obj`` (if new) and encrypt each given blob column, bound to its row id.

        A new row is flushed first with empty placeholders to learn its id; both writes are in
        the caller's transaction, so no reader ever sees the placeholder.
        """
        table = obj.__tablename__
        if getattr(obj, "id", None) is None:
            for column in blobs:
                setattr(obj, column, b"")
            session.add(obj)
            session.flush()
        row_id: int = obj.id  # type: ignore[attr-defined]
        for column, data in blobs.items():
            sealed = self.cipher.encrypt(data, context=blob_context(table, column, row_id))
            setattr(obj, column, sealed)
        session.flush()
        return obj

    def unseal(self, obj: Base, column: str) -> bytes:
        """Decrypt one blob column of a stored row."""
        row_id: int = obj.id  # type: ignore[attr-defined]
        blob = getattr(obj, column)
        return self.cipher.decrypt(blob, context=blob_context(obj.__tablename__, column, row_id))

    def dispose(self) -> None:
        self.engine.dispose()


def open_store(settings: StoreSettings, *, run_migrations: bool = True) -> Store:
    """Open (and by default migrate) the store described by ``settings``. A folder, key file or
    database that cannot be created or written raises ``StoreError`` (``StoreFull`` when the
    disk is full) naming the file and the cause."""
    url = settings.resolved_url()
    try:
        if settings.database_url is None:
            # The embedded database holds identities: its folder is private to its user.
            private_folder(settings.data_dir)
        engine = make_engine(url)
        cipher, keys = open_keys(settings, engine, database_location(url))
        if run_migrations:
            migrate(engine)
    except (DBAPIError, OSError) as exc:
        failure = store_failure(exc, database_location(url))
        if failure is None:
            raise
        raise failure from exc
    # Every session carries the integrity keys: bindings and checkpoints are made in the
    # transaction of the write they cover (store/integrity.py, store/signing.py).
    info = {SESSION_KEY: keys, SESSION_KEY + ".every": settings.checkpoint_every}
    sessions = sessionmaker(bind=engine, expire_on_commit=False, info=info)
    return Store(engine=engine, sessions=sessions, cipher=cipher, keys=keys)
