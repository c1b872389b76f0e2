"""``maild serve`` and ``maild ingest`` as real processes, the way an operator or MTA runs them."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import write_toml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)  # waiting for a process to bind, not for a clock
    raise AssertionError(f"maild did not listen on {port}")


def stored_message_ids(db: Path) -> list[str]:
    with sqlite3.connect(db) as connection:
        return [row[0] for row in connection.execute("SELECT message_id FROM messages")]


def test_sigterm_during_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    port = free_port()
    data = config_data(tmp_path, f"sqlite:///{tmp_path / 'maild.db'}")
    data["smtp"] = {"listen": f"127.0.0.1:{port}", "lmtp_listen": ""}
    write_toml(data, tmp_path / "config.toml")
    process = subprocess.Popen(
        [sys.executable, "-m", "maild", "serve", "-c", str(tmp_path / "config.toml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    accepted: list[str] = []
    lock = threading.Lock()
    started = threading.Barrier(5)

    def client(n: int) -> None:
        started.wait()
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                for i in range(10_000):
                    message_id = f"<load-{n}-{i}@customer.example>"
                    smtp.sendmail(
                        "ada@customer.example",
                        ["support@example.com"],
                        customer_mail(message_id=message_id),
                    )
                    with lock:
                        accepted.append(message_id)
        except (smtplib.SMTPException, OSError):
            return  # the daemon went away or answered 4xx: those messages were not accepted

    try:
        wait_for_port(port, process)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        started.wait()
        while len(accepted) < 40:
            time.sleep(0.01)  # let load build up before the signal
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0, process.stderr.read().decode() if process.stderr else ""
        for thread in threads:
            thread.join(10)
    finally:
        if process.poll() is None:
            process.kill()
    stored = set(stored_message_ids(tmp_path / "maild.db"))
    assert len(accepted) >= 40
    assert set(accepted) <= stored


def run_ingest(config: Path, raw: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "maild", "ingest", "-c", str(config), *args],
        input=raw,
        capture_output=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )


def test_ingest_stores_and_exits_zero(tmp_path: Path) -> None:
    write_toml(config_data(tmp_path, f"sqlite:///{tmp_path / 'maild.db'}"), tmp_path / "c.toml")
    result = run_ingest(
        tmp_path / "c.toml",
        customer_mail(message_id="<pipe@customer.example>"),
        "--sender",
        "ada@customer.example",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"new_ticket" in result.stdout
    assert stored_message_ids(tmp_path / "maild.db") == ["<pipe@customer.example>"]


def test_ingest_exits_75_when_database_is_locked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'maild.db'}"
    write_toml(config_data(tmp_path, url), tmp_path / "c.toml")
    assert run_ingest(tmp_path / "c.toml", customer_mail()).returncode == 0  # creates the schema
    locker = sqlite3.connect(tmp_path / "maild.db", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        result = run_ingest(tmp_path / "c.toml", customer_mail(message_id="<late@x.example>"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert result.returncode == 75, result.stderr.decode()
    assert "<late@x.example>" not in stored_message_ids(tmp_path / "maild.db")


def test_ingest_refuses_unknown_recipient(tmp_path: Path) -> None:
    write_toml(config_data(tmp_path, f"sqlite:///{tmp_path / 'maild.db'}"), tmp_path / "c.toml")
    result = run_ingest(tmp_path / "c.toml", customer_mail(), "--recipient", "x@elsewhere.example")
    assert result.returncode == 67
