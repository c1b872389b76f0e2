"""``maild imap test`` and ``maild imap list`` against the real Dovecot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from maild.cli import cli
from tests.conftest import config_data
from tests.imap.conftest import PASSWORD_ENV, account_data
from tests.imap.dovecot import PASSWORD, Dovecot, free_port
from tests.support import write_toml

pytestmark = pytest.mark.integration  # a real Dovecot


@pytest.fixture
def write_config(
    tmp_path: Path, sqlite_url: str, dovecot: Dovecot, imap_user: str, monkeypatch
) -> Any:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)

    def write(**account: Any) -> Path:
        data = config_data(tmp_path, sqlite_url)
        data["imap"] = [account_data(dovecot, imap_user, **account)]
        path = tmp_path / "config.toml"
        write_toml(data, path)
        return path

    return write


def imap(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), "imap", *args])


def test_imap_test_logs_in_and_counts_the_folder(
    write_config: Any, dovecot: Dovecot, imap_user: str
) -> None:
    dovecot.append(imap_user, b"From: a@x\r\nSubject: one\r\n\r\nx\r\n")
    dovecot.append(imap_user, b"From: a@x\r\nSubject: two\r\n\r\nx\r\n")
    result = imap(write_config(), "test", "test")
    assert result.exit_code == 0, result.output
    assert f"127.0.0.1:{dovecot.port} (tls=none): logged in as {imap_user} (LOGIN)" in result.output
    assert "folder 'INBOX': 2 message(s)" in result.output
    assert "'Processed' (missing: maild creates it when it starts)" in result.output
    assert "IDLE: yes" in result.output
    assert dovecot.message_ids(imap_user, "Processed") == []  # changed nothing


@pytest.mark.parametrize(
    ("account", "expected"),
    [
        ({"password_env": "MAILD_TEST_WRONG_PASSWORD"}, "authentication failed for {user} (LOGIN)"),
        ({"password_env": "MAILD_TEST_UNSET"}, "MAILD_TEST_UNSET (password_env) is not set"),
        ({"tls": "ssl"}, "TLS handshake failed"),
        ({"tls": "starttls"}, "the server does not offer STARTTLS"),
        ({"folder": "Nowhere"}, "cannot read folder 'Nowhere'"),
    ],
    ids=["wrong-password", "no-password", "ssl-on-plain-port", "no-starttls", "no-folder"],
)
def test_imap_test_names_what_failed_and_where(
    write_config: Any,
    dovecot: Dovecot,
    imap_user: str,
    monkeypatch,
    account: dict[str, Any],
    expected: str,
) -> None:
    monkeypatch.setenv("MAILD_TEST_WRONG_PASSWORD", "not-the-password")
    monkeypatch.delenv("MAILD_TEST_UNSET", raising=False)
    result = imap(write_config(**account), "test", "test")
    assert result.exit_code == 1
    assert f"127.0.0.1:{dovecot.port} (tls={account.get('tls', 'none')})" in result.output
    assert expected.format(user=imap_user) in result.output
    assert PASSWORD not in result.output


def test_imap_test_when_nothing_listens(write_config: Any) -> None:
    port = free_port()
    result = imap(write_config(port=port), "test", "test")
    assert result.exit_code == 1
    assert f"127.0.0.1:{port} (tls=none): cannot connect: " in result.output
    assert "refused" in result.output.lower()


def test_imap_test_unknown_account_lists_the_known_ones(write_config: Any) -> None:
    result = imap(write_config(), "test", "nope")
    assert result.exit_code == 1
    assert "no [[imap]] account 'nope' (accounts: test)" in result.output


def test_imap_list_shows_accounts_and_position(write_config: Any, imap_user: str) -> None:
    [row] = json.loads(imap(write_config(), "list", "--json").stdout)
    assert row["name"] == "test" and row["username"] == imap_user
    assert row["after_store"] == "moved to 'Processed'"
    assert row["last_uid"] is None  # never read yet
