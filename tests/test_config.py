"""Configuration: defaults, the lookup order, and errors that name the key and the value."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from maild.cli import cli
from maild.config import ConfigError, config_from_mapping, load_config


def test_built_in_defaults_are_the_embedded_setup(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILD_CONFIG", raising=False)
    config = load_config(None)
    assert config.database_url == f"sqlite:///{tmp_path / 'var' / 'maild.db'}"
    assert config.smtp.listen == "127.0.0.1:2525"
    assert config.smtp.lmtp_listen == "127.0.0.1:2424"
    assert config.smtp.max_message_size == 25 * 1024 * 1024
    assert config.outbound.relay == ""
    assert config.outbound_dir == tmp_path / "var" / "outbound"


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parents[1] / "config.example.toml")
    assert config.maild.ticket_prefix == "ACME"
    assert config.mailboxes[0].address == "support@example.com"


def test_relative_data_dir_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    path = tmp_path / "etc" / "maild.toml"
    path.write_text('[maild]\ndata_dir = "data"\n')
    assert load_config(path).data_dir == tmp_path / "etc" / "data"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"smtp": {"listen": "nowhere"}}, "smtp.listen: expected 'host:port'"),
        (
            {"mailboxes": [{"address": "not-an-address"}]},
            "mailboxes[0].address: not a mail address: 'not-an-address'",
        ),
        ({"smtp": {"lisen": "x"}}, "smtp.lisen: unknown key"),
        ({"maild": {"ticket_prefix": "A B"}}, "maild.ticket_prefix: must be"),
        ({"maild": {"first_ticket_number": 0}}, "maild.first_ticket_number:"),
        ({"outbound": {"relay": "http://x"}}, "outbound.relay: expected 'smtp://host:port'"),
        ({"mailboxes": []}, "mailboxes: at least one"),
        ({"smtp": {"max_message_size": "big"}}, "smtp.max_message_size:"),
        ({"outbound": {"max_lifetime": "soon"}}, "outbound.max_lifetime: expected a duration"),
        ({"outbound": {"lease": "0m"}}, "outbound.lease:"),
    ],
)
def test_errors_name_key_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_from_mapping(data)
    assert expected in str(error.value)


def test_maild_check_exits_non_zero_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[smtp]\nlisten = "nowhere"\n')
    result = CliRunner().invoke(cli, ["check", "-c", str(bad)])
    assert result.exit_code != 0
    assert "smtp.listen" in result.output and "'nowhere'" in result.output


def test_maild_check_accepts_the_example() -> None:
    example = Path(__file__).parents[1] / "config.example.toml"
    result = CliRunner().invoke(cli, ["check", "-c", str(example)])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_config_path_from_environment(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "env.toml"
    path.write_text('[maild]\nticket_prefix = "ENV"\n')
    monkeypatch.setenv("MAILD_CONFIG", str(path))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0 and str(path) in result.output


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[maild\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_durations_read_as_words_or_seconds() -> None:
    from datetime import timedelta

    imap = {
        "name": "inbox",
        "host": "imap.example.com",
        "username": "u",
        "mark_seen": True,
        "password_env": "P",
    }
    config = config_from_mapping(
        {
            "outbound": {"max_lifetime": "3d", "max_backoff": "30m", "lease": "90s"},
            "imap": [{**imap, "mailbox": "support@localhost", "lease": "2m"}],
        }
    )
    assert config.outbound.max_lifetime == timedelta(days=3)
    assert config.outbound.max_backoff == timedelta(minutes=30)
    assert config.outbound.lease == timedelta(seconds=90)
    assert config.imap[0].lease == 120.0
    assert config_from_mapping({"outbound": {"lease": 2.5}}).outbound.lease == timedelta(
        seconds=2.5
    )
