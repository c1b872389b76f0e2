"""Real servers for the tests: maild's own service in a thread, and an aiosmtpd sink that
stands in for the outbound relay and keeps what it receives."""

from __future__ import annotations

import asyncio
import email
import email.policy
import smtplib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from maild.clock import Clock
from maild.config import Config
from maild.service import Service
from outbound.outbox import FlushReport

WAIT = 10.0


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]


class SinkHandler:
    """Keeps every message it accepts; a test sets the replies to make it refuse."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.data_reply = "250 OK"
        self.rcpt_replies: dict[str, str] = {}
        self.connections = 0
        self._lock = threading.Condition()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        with self._lock:
            self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.data_reply.startswith("250"):
            return self.data_reply
        with self._lock:
            self.received.append(
                Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content)
            )
            self._lock.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Received]:
        """Block until ``count`` messages arrived (a wait for delivery, not for time)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self.received) >= count, timeout)
            return list(self.received)


class _Controller(Controller):
    def _trigger_server(self) -> None:
        # aiosmtpd 1.4.6 connects to ``self.port`` to start up, which is 0 for "any free port".
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Sink:
    """An aiosmtpd server on a free loopback port standing in for the outbound relay."""

    def __init__(self, port: int = 0) -> None:
        self.handler = SinkHandler()
        self._controller = _Controller(self.handler, hostname="127.0.0.1", port=port)

    def start(self) -> Sink:
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        if getattr(self, "_running", False):
            self._running = False
            self._controller.stop()

    @property
    def port(self) -> int:
        return int(self._controller.port)

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Received]:
        return self.handler.wait_for(count, timeout)


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Wait for work another thread does (the daemon's outbox worker), up to ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class DaemonThread:
    """``maild serve`` in a background thread with its own event loop.

    The outbox sends as soon as a commit wakes it (no gather delay, unlike the daemon's
    second): a test that waits for mail at the sink waits for delivery, not for a clock.
    A test that wants everything queued so far sent calls :meth:`flush_outbox`."""

    def __init__(
        self, config: Config, clock: Clock | None = None, *, outbox_gather: float = 0.0
    ) -> None:
        self.service = Service(config, clock, outbox_gather=outbox_gather)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="maild-test-daemon", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # surfaced by start()/stop()
            self._error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        async with self.service.running():
            self._ready.set()
            await self.service._stop.wait()

    def start(self) -> DaemonThread:
        self._thread.start()
        self._ready.wait(WAIT)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self.service.request_stop)
        self._thread.join(WAIT * 3)
        if self._error is not None:
            raise self._error

    @property
    def runtime(self):
        assert self.service.runtime is not None
        return self.service.runtime

    @property
    def smtp_port(self) -> int:
        return self.service.listeners["smtp"].port

    @property
    def lmtp_port(self) -> int:
        return self.service.listeners["lmtp"].port

    def smtp(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=WAIT)

    def send(
        self,
        raw: bytes,
        *,
        mail_from: str = "customer@example.org",
        rcpt_tos: tuple[str, ...] = ("support@example.com",),
    ) -> dict[str, Any]:
        with self.smtp() as client:
            return client.sendmail(mail_from, list(rcpt_tos), raw)

    def flush_outbox(self) -> FlushReport:
        """Send everything due now and return when it has reached the relay (or failed):
        a flush the daemon's own worker has in progress finishes first."""
        return self.service.flush_outbox()


def toml_value(item: Any) -> str:
    """TOML for a test value; nested tables are written inline."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int | float):
        return repr(item)
    if isinstance(item, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in item) + "]"
    if isinstance(item, dict):
        return "{ " + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in item.items()) + " }"
    text = str(item).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write_toml(data: dict[str, Any], path: Any) -> None:
    """A minimal TOML writer for test configurations: top-level tables and arrays of
    tables, keys quoted (``header.X-Priority`` stays one key), nested values inline."""
    lines: list[str] = []
    for section, content in data.items():
        entries = content if isinstance(content, list) else [content]
        for entry in entries:
            lines.append(f"[[{section}]]" if isinstance(content, list) else f"[{section}]")
            lines.extend(f'"{k}" = {toml_value(v)}' for k, v in entry.items())
    path.write_text("\n".join(lines) + "\n")
