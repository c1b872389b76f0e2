"""Read-only commands without a database say so and leave nothing behind: no database
file, no data folder in whatever folder they ran in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "command",
    [["tickets", "list"], ["tickets", "show", "1000"], ["participants"], ["outbox"]],
    ids=lambda c: " ".join(c),
)
def test_read_only_command_creates_no_database(tmp_path: Path, command: list[str]) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MAILD_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "maild", *command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "no database at" in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_db_status_without_a_database_creates_none(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MAILD_CONFIG"}
    done = subprocess.run(
        [sys.executable, "-m", "maild", "db", "status"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "no database at" in done.stdout
    assert list(tmp_path.iterdir()) == []
