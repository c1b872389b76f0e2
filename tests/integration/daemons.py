"""``maild serve`` as a real process for the tests that kill, restart or starve it: started
with this tree on the path, its log kept in a file the test reads."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MaildProcess:
    """``python -m maild serve -c CONFIG``, listening for SMTP on ``port``; its output is
    appended to ``log`` (one file across restarts)."""

    def __init__(self, config: Path, port: int, log: Path, env: dict[str, str] | None = None):
        self.config = config
        self.port = port
        self.log = log
        self.env = {**os.environ, **(env or {})}
        self.env["PYTHONPATH"] = os.pathsep.join(
            part for part in (str(ROOT), self.env.get("PYTHONPATH", "")) if part
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> MaildProcess:
        with self.log.open("ab") as output:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "maild", "serve", "-c", str(self.config)],
                cwd=self.config.parent,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return self

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> MaildProcess:
        """Until the port greets with 220 (a wait for the process to bind, not for a clock)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"maild exited with {self.proc.returncode}\n{self.tail()}")
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=2.0) as probe:
                    probe.noop()
                return self
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)
        raise AssertionError(f"maild did not listen on {self.port}\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing is cleaned up."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM and wait: the exit status (None when it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                return None
        return self.proc.returncode

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.text().splitlines()[-lines:])
