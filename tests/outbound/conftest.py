"""Fixtures for the outbound tests: a real aiosmtpd relay sink, a database, a manual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import DatabaseSettings, create_database_engine, session_factory
from storage.models import Base

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when a test says so."""

    def __init__(self, start: datetime = START) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@pytest.fixture
def now() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """SQLite in a temp file, and PostgreSQL too when ``MAILD_TEST_DATABASE_URL`` is set."""
    engine = create_database_engine(DatabaseSettings(url=database_url))
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)
