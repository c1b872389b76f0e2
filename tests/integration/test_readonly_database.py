"""A database that refuses writes: the commands that write say so in one line and stop.

Tests run as root, where a read-only file mode stops nothing; SQLite's ``mode=ro`` URI
makes the database read-only for every user.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from storage.engine import DatabaseSettings, check_writable, create_database_engine
from storage.schema import ensure_current
from tests.conftest import config_data
from tests.integration.test_receiver_limits import database_locked
from tests.mails import customer_mail
from tests.support import write_toml


def read_only_config(tmp_path: Path, database: Path) -> Path:
    url = f"sqlite:///file:{database}?mode=ro&uri=true"
    data = config_data(tmp_path, url)
    data["smtp"] = {"listen": "127.0.0.1:0", "lmtp_listen": ""}
    path = tmp_path / "config.toml"
    write_toml(data, path)
    return path


def current_database(tmp_path: Path) -> Path:
    path = tmp_path / "maild.db"
    engine = create_database_engine(DatabaseSettings(f"sqlite:///{path}"))
    ensure_current(engine)
    engine.dispose()
    return path


def maild(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "maild", *args], input=stdin, capture_output=True, timeout=60
    )


def assert_one_line(stderr: bytes, database: Path) -> str:
    text = stderr.decode()
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert f"cannot write to the database sqlite:///file:{database}?mode=ro" in lines[0]
    assert lines[0].endswith(": attempt to write a readonly database")
    return lines[0]


def test_serve_on_a_read_only_database_says_so_in_one_line(tmp_path: Path) -> None:
    database = current_database(tmp_path)
    config = read_only_config(tmp_path, database)
    done = maild("serve", "-c", str(config))  # before: served, and failed every message
    assert done.returncode == 1
    assert assert_one_line(done.stderr, database).startswith("maild: cannot write")


def test_upgrade_of_a_read_only_empty_file_says_so_in_one_line(tmp_path: Path) -> None:
    database = tmp_path / "maild.db"
    database.touch()
    config = read_only_config(tmp_path, database)
    done = maild("db", "upgrade", "-c", str(config))  # before: a SQLAlchemy traceback
    assert done.returncode == 1
    assert_one_line(done.stderr, database)
    assert database.stat().st_size == 0


def test_ingest_into_a_read_only_database_is_a_temporary_failure(tmp_path: Path) -> None:
    database = current_database(tmp_path)
    config = read_only_config(tmp_path, database)
    done = maild("ingest", "-c", str(config), stdin=customer_mail())
    assert done.returncode == 75  # the MTA keeps the message until the admin fixes it
    assert assert_one_line(done.stderr, database).startswith("maild ingest: temporary failure:")


def test_a_locked_database_is_not_taken_for_a_read_only_one(tmp_path: Path) -> None:
    database = current_database(tmp_path)
    engine = create_database_engine(DatabaseSettings(f"sqlite:///{database}", busy_timeout=0.05))
    try:
        with database_locked(f"sqlite:///{database}"):
            check_writable(engine)  # nothing raised: the work meets the lock later, as 451
    finally:
        engine.dispose()
