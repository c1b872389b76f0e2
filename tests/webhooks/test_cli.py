"""``maild webhooks list|retry|test``, ``maild check`` and ``maild serve`` as an operator
runs them: a ping that the receiver verifies, and a missing secret named by its key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from maild.cli import cli
from maild.clock import ManualClock
from maild.config import ConfigError, config_from_mapping
from tests.support import DaemonThread, Sink, write_toml
from tests.webhooks.conftest import SECRET_ENVS, webhook_data
from tests.webhooks.receiver import Receiver


def invoke(tmp_path: Path, data: dict[str, Any], *args: str) -> Any:
    path = tmp_path / "config.toml"
    write_toml(data, path)
    return CliRunner().invoke(cli, ["-c", str(path), *args])


def run(tmp_path: Path, data: dict[str, Any], *args: str, json: bool = True) -> Any:
    """The command's output (parsed as JSON, with ``json``); it must succeed."""
    result = invoke(tmp_path, data, *args)
    assert result.exit_code == 0, result.output
    return _json(result.stdout) if json else result.stdout


def _json(text: str) -> Any:
    return json.loads(text)


def test_webhooks_test_sends_a_ping_the_receiver_verifies(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver
) -> None:
    data = webhook_data(tmp_path, database_url, sink, receiver)
    said = run(tmp_path, data, "webhooks", "test", "quiet", json=False)
    [ping] = receiver.received()
    assert ping.path == "/quiet" and ping.error is None
    assert ping.payload["type"] == "ping" and ping.data == {"webhook": "quiet"}
    assert said.startswith(f"ping to quiet ({receiver.url('/quiet')}): HTTP 200 in ")
    assert ping.msg_id in said

    receiver.stop()
    failed = invoke(tmp_path, data, "webhooks", "test", "all")
    assert failed.exit_code == 1
    assert "ping to all" in failed.output and "failed: ConnectError" in failed.output
    unknown = invoke(tmp_path, data, "webhooks", "test", "nobody")
    assert unknown.exit_code == 1 and "no webhook named 'nobody' (all, quiet)" in unknown.output


def test_webhooks_list_shows_nothing_on_a_quiet_desk_and_retry_names_what_is_missing(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver
) -> None:
    data = webhook_data(tmp_path, database_url, sink, receiver)
    run(tmp_path, data, "db", "upgrade", json=False)
    assert run(tmp_path, data, "webhooks", "list", "--json") == []
    assert "Webhook deliveries" in run(tmp_path, data, "webhooks", "list", json=False)
    missing = invoke(tmp_path, data, "webhooks", "retry", "42")
    assert missing.exit_code == 1 and "no webhook delivery 42" in missing.output


def test_a_secret_missing_from_the_environment_stops_the_start_naming_its_key(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    receiver: Receiver,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = webhook_data(tmp_path, database_url, sink, receiver)
    monkeypatch.delenv(SECRET_ENVS["/quiet"])
    expected = "webhooks[1].secret_env: the environment variable MAILD_TEST_HOOK_QUIET is not set"
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        DaemonThread(config_from_mapping(data), clock).start()
    checked = invoke(tmp_path, data, "check")
    assert checked.exit_code == 1 and expected in checked.output
    served = invoke(tmp_path, data, "serve")
    assert served.exit_code == 1 and f"configuration error: {expected}" in served.output

    monkeypatch.setenv(SECRET_ENVS["/quiet"], "whsec_dG9vIHNob3J0")  # "too short"
    checked = invoke(tmp_path, data, "check")
    assert checked.exit_code == 1
    assert "webhooks[1].secret_env: the value of MAILD_TEST_HOOK_QUIET holds 9 bytes" in (
        checked.output
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"url": "ftp://hooks.example/in"}, "webhooks[0].url: expected an http:// or https://"),
        ({"events": ["ticket.exploded"]}, "webhooks[0].events: expected some of"),
        ({"events": []}, "webhooks[0].events: expected some of"),
        ({"secret_env": "NOT A NAME"}, "webhooks[0].secret_env: expected the name of"),
        ({"include_txt": True}, "webhooks[0].include_txt: unknown key"),
    ],
)
def test_a_bad_webhook_entry_is_named_by_its_key(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    receiver: Receiver,
    change: dict[str, Any],
    message: str,
) -> None:
    data = webhook_data(tmp_path, database_url, sink, receiver)
    data["webhooks"][0].update(change)
    with pytest.raises(ConfigError) as raised:
        config_from_mapping(data)
    assert message in str(raised.value)


def test_two_webhooks_of_one_name_are_refused(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver
) -> None:
    data = webhook_data(tmp_path, database_url, sink, receiver)
    data["webhooks"][1]["name"] = "all"
    with pytest.raises(ConfigError, match="name 'all' is used by two webhooks"):
        config_from_mapping(data)
