"""maild as a systemd service: ``contrib/systemd/maild.service`` passes ``systemd-analyze
verify``, and ``maild serve`` (a real process) speaks the notify protocol to a fake
``$NOTIFY_SOCKET``: READY=1 once it takes mail, WATCHDOG=1 from its event loop,
RELOADING=1/READY=1 around a SIGHUP that reloads the rules file while an SMTP connection
stays open, STOPPING=1 on SIGTERM. It logs JSON lines with the ticket, Message-ID and source.

``systemd-analyze`` needs no running systemd. Without it the verify test skips, unless
``MAILD_REQUIRE_INTEGRATION=1`` (CI, which installs the ``systemd`` package).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_INTEGRATION, config_data
from tests.integration.test_daemon_process import free_port
from tests.mails import customer_mail
from tests.support import write_toml

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "contrib" / "systemd" / "maild.service"
INSTALLED = "/opt/maild/.venv/bin/maild"  # the unit's ExecStart, where the README installs
TIMEOUT = 30.0

NO_OUTAGE_RULE = {"name": "billing", "when": {"subject": ["invoice"]}, "then": {"tags": ["x"]}}
OUTAGE_RULE = {"name": "outage", "when": {"subject": ["outage"]}, "then": {"priority": "urgent"}}


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        reason = "systemd-analyze is not installed (Debian package systemd)"
        if REQUIRE_INTEGRATION:
            pytest.fail(f"MAILD_REQUIRE_INTEGRATION=1 but {reason}")
        pytest.skip(reason)
    return found


def verify(unit: Path) -> list[str]:
    """What ``systemd-analyze verify`` says about ``unit``: exit 0 is not enough, systemd
    252 reports an unknown key or a bad value as a warning and still exits 0."""
    result = subprocess.run(
        [systemd_analyze(), "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    said = [line for line in (result.stdout + result.stderr).splitlines() if unit.name in line]
    return said if result.returncode == 0 else [f"exit {result.returncode}", *said]


def installed_unit(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart at this environment's ``maild`` (verify checks that the
    program exists); everything else as shipped. ``User=maild`` stays: verify does not
    need the user to exist."""
    maild = Path(sys.executable).with_name("maild")
    assert maild.is_file(), f"{maild}: maild is not installed in this environment"
    text = UNIT.read_text() if text is None else text
    assert f"ExecStart={INSTALLED} " in text
    unit = tmp_path / "maild.service"
    unit.write_text(text.replace(f"ExecStart={INSTALLED} ", f"ExecStart={maild} "))
    return unit


def settings(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            found[key.strip()] = value.strip()
    return found


def test_unit_file_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    assert verify(installed_unit(tmp_path)) == []
    unit = settings(UNIT.read_text())
    assert unit["Type"] == "notify"
    assert unit["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert unit["Restart"] == "on-failure"
    assert unit["WatchdogSec"] == "30s"
    assert (unit["User"], unit["StateDirectory"]) == ("maild", "maild")
    assert (unit["ProtectSystem"], unit["NoNewPrivileges"], unit["PrivateTmp"]) == (
        "strict",
        "yes",
        "yes",
    )


def test_verify_does_report_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a bad value are reported."""
    text = UNIT.read_text().replace("PrivateTmp=yes", "PrivateTemp=yes")
    text = text.replace("Type=notify", "Type=notfy")
    said = "\n".join(verify(installed_unit(tmp_path, text)))
    assert "Unknown key 'PrivateTemp'" in said
    assert "notfy" in said


class NotifySocket:
    """The datagram socket systemd would listen on; keeps every message in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self.messages: list[list[str]] = []

    def close(self) -> None:
        self._socket.close()

    def wait_for(self, state: str, process: subprocess.Popen[bytes]) -> list[str]:
        """The next message holding ``state``; fails at the deadline or if maild exits."""
        deadline = time.monotonic() + TIMEOUT
        while (left := deadline - time.monotonic()) > 0:
            assert process.poll() is None, f"maild exited with {process.returncode}"
            self._socket.settimeout(min(left, 1.0))
            try:
                message = self._socket.recv(4096).decode().split("\n")
            except TimeoutError:
                continue
            self.messages.append(message)
            if state in message:
                return message
        raise AssertionError(f"no {state} in {TIMEOUT}s; got {self.messages}")


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[NotifySocket]:
    receiver = NotifySocket(tmp_path / "notify")
    try:
        yield receiver
    finally:
        receiver.close()


def tickets(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as connection:
        return dict(connection.execute("SELECT subject, priority FROM tickets"))


def test_serve_under_systemd_notify_watchdog_sighup_reload_and_json_logs(
    tmp_path: Path, notify_socket: NotifySocket
) -> None:
    port = free_port()
    rules = tmp_path / "rules.toml"
    write_toml({"rules": [NO_OUTAGE_RULE]}, rules)
    data = config_data(tmp_path, f"sqlite:///{tmp_path / 'maild.db'}")
    data["maild"].update(rules_file=str(rules), log_format="json")
    data["smtp"] = {"listen": f"127.0.0.1:{port}", "lmtp_listen": ""}
    # Only the SIGHUP can reload the rules within this test.
    data["scheduler"] = {"reload_interval": 3600, "sla_interval": 3600}
    write_toml(data, tmp_path / "config.toml")
    environ = {k: v for k, v in os.environ.items() if k != "WATCHDOG_PID"}
    environ.update(NOTIFY_SOCKET=str(notify_socket.path), WATCHDOG_USEC="200000")
    with (tmp_path / "stderr").open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "maild", "serve", "-c", str(tmp_path / "config.toml")],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=environ,
        )
    try:
        ready = notify_socket.wait_for("READY=1", process)
        assert f"STATUS=serving: smtp on port {port}" in ready
        notify_socket.wait_for("WATCHDOG=1", process)
        notify_socket.wait_for("WATCHDOG=1", process)  # again: petted on a timer

        with smtplib.SMTP("127.0.0.1", port, timeout=TIMEOUT) as smtp:  # open across the HUP
            smtp.sendmail(
                "ada@customer.example",
                ["support@example.com"],
                customer_mail(subject="outage before", message_id="<before@customer.example>"),
            )
            write_toml({"rules": [NO_OUTAGE_RULE, OUTAGE_RULE]}, rules)
            process.send_signal(signal.SIGHUP)
            reloading = notify_socket.wait_for("RELOADING=1", process)
            assert any(state.startswith("MONOTONIC_USEC=") for state in reloading)
            notify_socket.wait_for("READY=1", process)

            assert smtp.noop()[0] == 250
            smtp.sendmail(
                "ada@customer.example",
                ["support@example.com"],
                customer_mail(subject="outage after", message_id="<after@customer.example>"),
            )

        process.send_signal(signal.SIGTERM)
        notify_socket.wait_for("STOPPING=1", process)
        assert process.wait(TIMEOUT) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = (tmp_path / "stderr").read_text()

    assert tickets(tmp_path / "maild.db") == {"outage before": "medium", "outage after": "urgent"}
    entries = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    messages = [entry["message"] for entry in entries]
    assert any(message.startswith("rules reloaded from") for message in messages), log
    # Every line logged while the message was stored names it, its source and its ticket.
    after = [e for e in entries if e.get("message_id") == "<after@customer.example>"]
    assert {e["source"] for e in after} == {"smtp"}
    by_logger = {e["logger"]: e for e in after}
    rule, stored = by_logger["maild.automation.apply"], by_logger["maild.pipeline.driver"]
    assert (rule["message"], rule["ticket"]) == (
        "rule 'outage': priority urgent (rule 'outage')",
        1001,
    )
    assert stored["message"] == "new_ticket: ticket #1001 from ada@customer.example (new)"
    assert stored["ticket"] == 1001
    assert messages[-1] == "maild stopped"
