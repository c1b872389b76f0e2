"""Webhook tests: a real HTTP receiver on a loopback port that checks every signature, and
maild configured with two webhooks to it: ``all`` (every event, with text) and ``quiet``
(the mail events and ratings, without text), on the agents' set-up with SLA targets and
satisfaction surveys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maild.config import Config, config_from_mapping
from maild.webhooks import EVENTS
from tests.agents.conftest import agents_data
from tests.support import Sink, write_toml
from tests.webhooks.receiver import Receiver, new_secret

SECRET_ENVS = {"/all": "MAILD_TEST_HOOK_ALL", "/quiet": "MAILD_TEST_HOOK_QUIET"}
QUIET_EVENTS = ["ticket.created", "ticket.customer_replied", "ticket.agent_replied", "ticket.rated"]


@pytest.fixture
def hook_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A secret per receiver path, each in the environment variable the config names."""
    made = {path: new_secret() for path in SECRET_ENVS}
    for path, variable in SECRET_ENVS.items():
        monkeypatch.setenv(variable, made[path])
    return made


@pytest.fixture
def receiver(hook_secrets: dict[str, str]) -> Iterator[Receiver]:
    server = Receiver(hook_secrets).start()
    yield server
    server.stop()


def webhook_data(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver, **outbound: Any
) -> dict[str, Any]:
    data = agents_data(tmp_path, database_url, sink)
    data["outbound"].update(outbound)
    data["sla"] = {"policies": {"medium": {"first_response": "1h", "resolution": "8h"}}}
    data["csat"] = {"enabled": True, "delay": "24h"}
    data["webhooks"] = [
        {
            "name": "all",
            "url": receiver.url("/all"),
            "events": list(EVENTS),
            "secret_env": SECRET_ENVS["/all"],
            "include_text": True,
        },
        {
            "name": "quiet",
            "url": receiver.url("/quiet"),
            "events": QUIET_EVENTS,
            "secret_env": SECRET_ENVS["/quiet"],
        },
    ]
    return data


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver) -> Config:
    return config_from_mapping(webhook_data(tmp_path, database_url, sink, receiver))


@pytest.fixture
def config_file(tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver) -> Path:
    """The same configuration as ``config``, as a file for the command line."""
    path = tmp_path / "config.toml"
    write_toml(webhook_data(tmp_path, database_url, sink, receiver), path)
    return path
