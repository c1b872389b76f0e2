"""Engines and sessions, tuned per database.

SQLite is the embedded default: WAL so readers never block the writer, ``synchronous=FULL``
so a committed message survives a power cut, a busy timeout so a briefly locked database is
waited for, and ``BEGIN IMMEDIATE`` for write transactions so a writer takes the lock up
front instead of failing half-way when a read lock cannot be upgraded. PostgreSQL gets a
``lock_timeout`` with the same meaning as SQLite's busy timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "maild_write"
SQLITE_READONLY = 8  # the primary result code; extended codes carry it in the low byte
PG_READ_ONLY_SQL_TRANSACTION = "25006"


class DatabaseReadOnly(Exception):
    """The database refuses writes (a read-only file, folder or mount, ``?mode=ro``, a
    read-only PostgreSQL server or role). ``str()`` is one line for the operator."""

    def __init__(self, url: str | None, reason: str) -> None:
        where = f"the database {url}" if url else "the database"
        super().__init__(f"cannot write to {where}: {reason}")


def is_read_only(error: DBAPIError) -> bool:
    """Whether the driver's error says the database is read-only (not locked, not down)."""
    original = error.orig
    code = getattr(original, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return state == PG_READ_ONLY_SQL_TRANSACTION


# PostgreSQL's answers that mean "a concurrent transaction got in the way": the same work run
# again goes through (several instances on one database). SQLSTATE -> what the log says. A
# lock not granted within lock_timeout (55P03) is not one: that wait was the busy timeout.
PG_CONFLICTS = {"40001": "serialization failure", "40P01": "deadlock"}


def conflict_reason(error: BaseException) -> str | None:
    """What the driver's error says when a concurrent transaction made this one fail and a
    new attempt may go through (a deadlock or a serialization failure on PostgreSQL); None
    for any other error."""
    original = getattr(error, "orig", None)
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return PG_CONFLICTS.get(state) if isinstance(state, str) else None


def read_only_error(url: Any, error: DBAPIError) -> DatabaseReadOnly:
    """The one-line error for ``error`` at ``url`` (a URL, a string or None; a password in
    it is not shown)."""
    # As written, e.g. "sqlite:///file:/srv/maild.db?mode=ro", not "file%3A/srv/…".
    shown = unquote(make_url(url).render_as_string(hide_password=True)) if url else None
    reason = str(error.orig if error.orig is not None else error).strip()
    return DatabaseReadOnly(shown, reason.splitlines()[0] if reason else type(error).__name__)


def check_writable(engine: Engine) -> None:
    """Raise :class:`DatabaseReadOnly` unless a write transaction can be made here.

    Run at start by the commands that write, so that a read-only database is one clear line
    then and not a failure of every message later. It writes nothing: an update that leaves
    the schema version as it is, rolled back. Any other error (the write lock held by
    another writer for longer than the busy timeout) says nothing about this: the work
    itself meets it later, as a temporary failure.
    """
    try:
        with writer_engine(engine).connect() as connection, connection.begin() as transaction:
            connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            transaction.rollback()
    except DBAPIError as error:
        if is_read_only(error):
            raise read_only_error(engine.url, error) from None


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    busy_timeout: float = 5.0
    synchronous: str = "FULL"
    # Execution options every connection carries (the webhooks of maild.webhooks.queue):
    # given to the engine itself, since each wrapping Engine.execution_options() adds a
    # layer that every statement's events pass through.
    execution_options: Mapping[str, Any] | None = None


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_database_engine(settings: DatabaseSettings) -> Engine:
    """An engine for ``settings.url``; creates the SQLite file's folder when needed."""
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(settings)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        timeout_ms = int(settings.busy_timeout * 1000)
        connect_args["options"] = f"-c lock_timeout={timeout_ms}"
        connect_args["connect_timeout"] = max(1, int(settings.busy_timeout))
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args=connect_args,
        execution_options=dict(settings.execution_options or {}),
    )


def _sqlite_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.url)
    # A "file:" URI (``?uri=true``, e.g. ``mode=ro``) names its file as the caller wants it.
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": settings.busy_timeout},
        execution_options=dict(settings.execution_options or {}),
    )
    synchronous = settings.synchronous
    busy_ms = int(settings.busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def writer_engine(engine: Engine) -> Engine:
    """The same engine, but its transactions take the write lock at BEGIN (SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def database_answers(engine: Engine) -> str | None:
    """None when the database answers a trivial query, else why not (for ``/healthz``)."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        return str(error).splitlines()[0][:200]
    return None
