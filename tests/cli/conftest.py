"""A configuration file on SQLite for the console's commands, and a way to run them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from maild.cli import cli
from tests.conftest import config_data
from tests.support import write_toml


@pytest.fixture
def console_config(tmp_path: Path, sqlite_url: str) -> Path:
    """No relay: what maild would send lands in the data folder, nothing listens."""
    path = tmp_path / "config.toml"
    write_toml(config_data(tmp_path, sqlite_url), path)
    return path


def invoke(config: Path, *args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["-c", str(config), *args], input=input)
