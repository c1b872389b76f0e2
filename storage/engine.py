"""Engines and sessions, tuned per database.

SQLite is the embedded default: WAL so readers never block the writer, ``synchronous=FULL``
so a committed message survives a power cut, a busy timeout so a briefly locked database is
waited for, and ``BEGIN IMMEDIATE`` for write transactions so a writer takes the lock up
front instead of failing half-way when a read lock cannot be upgraded. PostgreSQL gets a
``lock_timeout`` with the same meaning as SQLite's busy timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

WRITE_OPTION = "maild_write"


@dataclass(frozen=True, slots=True)
class DatabaseSettings:
    url: str
    busy_timeout: float = 5.0
    synchronous: str = "FULL"


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
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(settings: DatabaseSettings) -> Engine:
    url = make_url(settings.url)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": settings.busy_timeout})
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
