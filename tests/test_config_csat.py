"""[csat] and [web]: defaults, durations in wall time, and errors that name key and value."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from maild.cli import cli
from maild.config import ConfigError, config_from_mapping


def test_defaults_are_off_and_a_day() -> None:
    config = config_from_mapping({})
    assert not config.csat.enabled and config.csat.delay == timedelta(hours=24)
    assert (config.csat.after, config.csat.scale) == ("resolved", "1-5")
    assert config.web.listen == "" and config.web.base_url == ""
    assert config.maild.secret_env == "MAILD_SECRET"


def test_delay_is_wall_time_and_may_be_zero() -> None:
    config = config_from_mapping({"csat": {"enabled": True, "delay": "0m", "after": "closed"}})
    assert config.csat.delay == timedelta(0) and config.csat.after == "closed"
    assert config_from_mapping({"csat": {"delay": "2d"}}).csat.delay == timedelta(days=2)


def test_public_url_defaults_to_the_listen_address() -> None:
    assert config_from_mapping({"web": {"listen": "127.0.0.1:8025"}}).web.base_url == (
        "http://127.0.0.1:8025"
    )
    web = config_from_mapping(
        {"web": {"listen": "127.0.0.1:8025", "public_url": "https://help.example.com/"}}
    ).web
    assert web.base_url == "https://help.example.com"


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"csat": {"delay": "soon"}}, "csat.delay: expected a duration"),
        ({"csat": {"scale": "1-10"}}, "csat.scale"),
        ({"csat": {"after": "opened"}}, "csat.after"),
        ({"web": {"listen": "nonsense:xx:80"}}, "web.listen"),
        ({"web": {"public_url": "ftp://x.example"}}, "web.public_url"),
        ({"csat": {"colour": "blue"}}, "csat.colour: unknown key"),
    ],
)
def test_errors_name_the_key_and_the_value(data: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace(".", r"\.")):
        config_from_mapping(data)


def test_check_says_when_instances_would_not_share_a_secret(tmp_path, monkeypatch) -> None:
    path = tmp_path / "pg.toml"
    path.write_text(
        '[database]\nurl = "postgresql+psycopg://maild@db.example/maild"\n'
        '[maild]\nsecret_env = "MAILD_TEST_NO_SUCH_SECRET"\n[csat]\nenabled = true\n'
    )
    monkeypatch.delenv("MAILD_TEST_NO_SUCH_SECRET", raising=False)
    result = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert result.exit_code == 0 and "MAILD_TEST_NO_SUCH_SECRET is not set" in result.stderr
    monkeypatch.setenv("MAILD_TEST_NO_SUCH_SECRET", "shared")
    result = CliRunner().invoke(cli, ["-c", str(path), "check"])
    assert "is not set" not in result.stderr
