"""A daemon with surveys on and the web listener on a free port, on the agents' set-up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from tests.agents.conftest import agents_data
from tests.support import DaemonThread, Sink


def csat_data(tmp_path: Path, database_url: str, sink: Sink) -> dict[str, Any]:
    data = agents_data(tmp_path, database_url, sink)
    data["maild"]["secret_env"] = "MAILD_TEST_CSAT_SECRET"
    data["csat"] = {"enabled": True, "delay": "24h", "scale": "1-5"}
    data["web"] = {"listen": "127.0.0.1:0"}
    return data


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink, monkeypatch) -> Config:
    monkeypatch.setenv("MAILD_TEST_CSAT_SECRET", "a test secret that signs survey links")
    return config_from_mapping(csat_data(tmp_path, database_url, sink))


@pytest.fixture
def daemon(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()
