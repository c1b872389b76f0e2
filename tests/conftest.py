"""Shared fixtures: a database per test (SQLite, and PostgreSQL when
``MAILD_TEST_DATABASE_URL`` is set), a relay sink, and maild's service on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from storage.models import Base
from tests.support import DaemonThread, Sink, write_toml

POSTGRES_URL = os.environ.get("MAILD_TEST_DATABASE_URL", "")
REQUIRE_INTEGRATION = os.environ.get("MAILD_REQUIRE_INTEGRATION") == "1"

DATABASES = ["sqlite", "postgresql"]


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS ticket_text"))  # storage.search
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'maild.db'}"
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: set MAILD_TEST_DATABASE_URL to run this on PostgreSQL")
    _reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'maild.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def config_data(
    tmp_path: Path, database_url: str, relay_port: int | None = None, **sections: Any
) -> dict[str, Any]:
    """The test configuration as TOML-shaped data: free ports, the sink as relay."""
    data: dict[str, Any] = {
        "maild": {
            "data_dir": str(tmp_path / "data"),
            "ticket_prefix": "ACME",
            "first_ticket_number": 1000,
        },
        "database": {"url": database_url, "busy_timeout": 1.0},
        "mailboxes": [
            {"address": "support@example.com", "name": "ACME Support"},
            {"address": "billing@example.com", "name": "ACME Billing"},
        ],
        "smtp": {"listen": "127.0.0.1:0", "lmtp_listen": "127.0.0.1:0"},
        "outbound": {
            "relay": f"smtp://127.0.0.1:{relay_port}" if relay_port else "",
            "flush_interval": 0.2,
        },
    }
    for name, values in sections.items():
        if isinstance(values, dict) and isinstance(data.get(name), dict):
            data[name].update(values)
        else:  # a new section, or a list of tables such as agents=[{...}]
            data[name] = values
    return data


def make_config(
    tmp_path: Path, database_url: str, relay_port: int | None = None, **sections: Any
) -> Config:
    return config_from_mapping(config_data(tmp_path, database_url, relay_port, **sections))


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    return make_config(tmp_path, database_url, sink.port)


@pytest.fixture
def config_file(tmp_path: Path, config: Config, database_url: str, sink: Sink) -> Path:
    """The same configuration as ``config``, as a file for the command line."""
    path = tmp_path / "config.toml"
    write_toml(config_data(tmp_path, database_url, sink.port), path)
    return path


@pytest.fixture
def daemon(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()
