"""Fixtures for the IMAP tests: one private Dovecot per session, a user of its own per test.

Without Dovecot the tests that need it are skipped with the reason, unless
``MAILD_REQUIRE_INTEGRATION=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maild.config import Config, config_from_mapping
from tests.conftest import REQUIRE_INTEGRATION, config_data
from tests.imap.dovecot import PASSWORD, Dovecot, missing_reason
from tests.support import Sink


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    reason = missing_reason()
    if reason is not None:
        if REQUIRE_INTEGRATION:
            pytest.fail(f"MAILD_REQUIRE_INTEGRATION=1 but {reason}")
        pytest.skip(reason)
    server = Dovecot().start()
    yield server
    server.close()


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> Iterator[Dovecot]:
    """The shared server, up (a test may have stopped it)."""
    if dovecot_server.master_pid() is None:
        dovecot_server.start()
    yield dovecot_server
    if dovecot_server.master_pid() is None:
        dovecot_server.start()


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    return dovecot.add_user()


PASSWORD_ENV = "MAILD_TEST_IMAP_PASSWORD"


def account_data(dovecot: Dovecot, user: str, **overrides: Any) -> dict[str, Any]:
    """An ``[[imap]]`` entry for ``user`` on the test server, with short intervals."""
    data: dict[str, Any] = {
        "name": "test",
        "host": "127.0.0.1",
        "port": dovecot.port,
        "tls": "none",
        "username": user,
        "password_env": PASSWORD_ENV,
        "mailbox": "support@example.com",
        "processed_folder": "Processed",
        "poll_interval": 60.0,
        "timeout": 10.0,
        "reconnect_delay": 0.1,
        "reconnect_max_delay": 0.5,
    }
    data.update(overrides)
    return data


@pytest.fixture
def imap_config(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    dovecot: Dovecot,
    imap_user: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Config]:
    """Makes the test configuration with one IMAP account for ``imap_user``."""
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    def make(**account: Any) -> Config:
        data = config_data(tmp_path, database_url, sink.port)
        data["imap"] = [account_data(dovecot, imap_user, **account)]
        return config_from_mapping(data)

    return make
