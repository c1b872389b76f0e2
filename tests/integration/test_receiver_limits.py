"""Answers the receiver gives at its limits: size, locked database, LMTP per recipient."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from maild.clock import ManualClock
from storage.models import Message, QuarantinedMessage, QuarantineStatus
from tests.conftest import make_config
from tests.mails import customer_mail
from tests.parsing.test_mime_depth import nested_multipart
from tests.support import DaemonThread, Sink


@contextlib.contextmanager
def database_locked(url: str) -> Iterator[None]:
    """Hold the database's write lock from another connection, as a stuck writer would."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("LOCK TABLE messages, counters IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()
    engine.dispose()


def test_over_size_message_is_refused_with_552(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    config = make_config(tmp_path, database_url, sink.port, smtp={"max_message_size": 10_000})
    daemon = DaemonThread(config, clock).start()
    try:
        with daemon.smtp() as client, pytest.raises(smtplib.SMTPException) as refused:
            client.sendmail(
                "ada@customer.example", ["support@example.com"], customer_mail(body="x" * 20_000)
            )
        code = getattr(refused.value, "smtp_code", None)
        if code is None:  # refused at RCPT/MAIL time thanks to the SIZE extension
            code = next(iter(refused.value.recipients.values()))[0]  # type: ignore[attr-defined]
        assert code == 552
        with daemon.runtime.sessions() as session:
            assert session.scalars(select(Message)).all() == []
    finally:
        daemon.stop()


def test_locked_database_gives_451_then_the_retry_is_stored(
    daemon: DaemonThread, database_url: str, sink: Sink
) -> None:
    raw = customer_mail(message_id="<locked@customer.example>")
    with database_locked(database_url), daemon.smtp() as client:
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            client.sendmail("ada@customer.example", ["support@example.com"], raw)
        assert deferred.value.smtp_code == 451
    with daemon.runtime.sessions() as session:
        assert session.scalars(select(Message)).all() == []

    assert daemon.send(raw) == {}  # the sending MTA's retry
    with daemon.runtime.sessions() as session:
        [stored] = session.scalars(select(Message)).all()
    assert stored.message_id == "<locked@customer.example>"
    assert len(sink.wait_for(1)) == 1


def lmtp_conversation(port: int, rcpts: list[str], raw: bytes) -> list[str]:
    """Speak LMTP by hand: smtplib reads only one reply after DATA, LMTP sends one per
    recipient (RFC 2033)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")

        def reply() -> str:
            lines = []
            while True:
                line = reader.readline().decode().rstrip("\r\n")
                lines.append(line)
                if len(line) < 4 or line[3] != "-":
                    return lines[-1]

        def command(line: str) -> str:
            sock.sendall(line.encode() + b"\r\n")
            return reply()

        reply()  # greeting
        assert command("LHLO test.example").startswith("250")
        assert command("MAIL FROM:<ada@customer.example>").startswith("250")
        answers = [command(f"RCPT TO:<{rcpt}>") for rcpt in rcpts]
        accepted = [a for a in answers if a.startswith("250")]
        assert command("DATA").startswith("354")
        body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        sock.sendall(body + b".\r\n")
        data_answers = [reply() for _ in accepted]
        command("QUIT")
        return answers + data_answers


def test_lmtp_answers_once_per_recipient(daemon: DaemonThread) -> None:
    answers = lmtp_conversation(
        daemon.lmtp_port,
        ["support@example.com", "nobody@example.com", "billing@example.com"],
        customer_mail(),
    )
    rcpt_support, rcpt_nobody, rcpt_billing, data_support, data_billing = answers
    assert rcpt_support.startswith("250") and rcpt_billing.startswith("250")
    assert rcpt_nobody.startswith("550")
    assert data_support.startswith("250") and "#1000" in data_support + data_billing
    assert data_billing.startswith("250")
    with daemon.runtime.sessions() as session:
        assert len(session.scalars(select(Message)).all()) == 2


class RawClient:
    """One SMTP or LMTP conversation spoken by hand, to hold a connection at any step."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.reader = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> str:
        """The last line of the next reply ('' when the server closed the connection)."""
        while True:
            line = self.reader.readline().decode().rstrip("\r\n")
            if len(line) < 4 or line[3] != "-":
                return line

    def command(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def envelope(self, *, size: int | None = None, lmtp: bool = False) -> None:
        assert self.command("LHLO test.example" if lmtp else "EHLO test.example").startswith("250")
        mail_from = "MAIL FROM:<ada@customer.example>" + (f" SIZE={size}" if size else "")
        assert self.command(mail_from).startswith("250")
        assert self.command("RCPT TO:<support@example.com>").startswith("250")

    def message(self, raw: bytes) -> str:
        """The message after a 354, and the answer to it."""
        body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.sock.sendall(body + b".\r\n")
        return self.reply()

    def closed_by_server(self) -> bool:
        return self.reader.readline() == b""

    def quit(self) -> None:
        """QUIT and wait for the server to close: then it has let go of the connection
        (asyncio calls connection_lost before it closes the socket)."""
        assert self.command("QUIT").startswith("221")
        assert self.closed_by_server()
        self.close()

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@contextlib.contextmanager
def raw_clients() -> Iterator[list[RawClient]]:
    clients: list[RawClient] = []
    try:
        yield clients
    finally:
        for client in clients:
            client.close()


def test_connections_beyond_max_connections_get_421_until_one_closes(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(tmp_path, database_url, sink.port, smtp={"max_connections": 2})
    daemon = DaemonThread(config, clock).start()
    try:
        with raw_clients() as clients:
            first = RawClient(daemon.smtp_port)
            clients.append(first)
            clients.append(RawClient(daemon.lmtp_port))  # SMTP and LMTP count together
            assert [c.greeting[:3] for c in clients] == ["220", "220"]

            for port in (daemon.smtp_port, daemon.lmtp_port, daemon.smtp_port):
                refused = RawClient(port)
                clients.append(refused)
                assert refused.greeting == "421 4.7.0 Too many connections, try again later"
                assert refused.closed_by_server()

            first.quit()
            again = RawClient(daemon.smtp_port)
            clients.append(again)
            assert again.greeting.startswith("220")
            again.envelope()
            assert again.command("DATA").startswith("354")
            assert again.message(customer_mail()).startswith("250 2.0.0 Stored on ticket #")
            again.quit()
        warnings = [r for r in caplog.records if "max_connections" in r.getMessage()]
        assert len(warnings) == 1  # one line when refusing starts, not one per connection
    finally:
        daemon.stop()


def test_data_beyond_max_bytes_in_flight_gets_451_until_messages_finish(
    tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock
) -> None:
    config = make_config(
        tmp_path,
        database_url,
        sink.port,
        smtp={"max_message_size": 10_000, "max_bytes_in_flight": 25_000},
    )
    daemon = DaemonThread(config, clock).start()
    try:
        with raw_clients() as clients:
            # Two messages without SIZE in DATA: each may be the largest, 20,000 held.
            held = [RawClient(daemon.smtp_port), RawClient(daemon.smtp_port)]
            clients.extend(held)
            for client in held:
                client.envelope()
                assert client.command("DATA").startswith("354")

            declared = RawClient(daemon.smtp_port)
            clients.append(declared)
            declared.envelope(size=6_000)
            assert declared.command("DATA") == (
                "451 4.3.1 Insufficient system resources, try again later"
            )
            assert declared.command("RSET").startswith("250")
            declared.envelope(size=5_000)  # exactly up to the bound
            assert declared.command("DATA").startswith("354")

            lmtp = RawClient(daemon.lmtp_port)  # LMTP shares the bound
            clients.append(lmtp)
            lmtp.envelope(lmtp=True)
            assert lmtp.command("DATA") == (
                "451 4.3.1 Insufficient system resources, try again later"
            )

            raw = customer_mail(message_id="<held-0@customer.example>")
            assert held[0].message(raw).startswith("250 2.0.0 Stored")
            assert held[0].command("NOOP").startswith("250")  # its DATA is over: released
            assert lmtp.command("DATA").startswith("354")  # the sender's retry

            for n, client in enumerate((held[1], declared, lmtp), start=1):
                raw = customer_mail(message_id=f"<held-{n}@customer.example>")
                assert client.message(raw).startswith("250 2.0.0 Stored")
            for client in (*held, declared, lmtp):
                client.quit()
        assert daemon.service.limits.bytes_in_flight == 0
        assert daemon.service.limits.connections == 0
        with daemon.runtime.sessions() as session:
            assert len(session.scalars(select(Message)).all()) == 4
    finally:
        daemon.stop()


def test_mime_nested_forty_levels_is_quarantined_with_the_reason(
    daemon: DaemonThread, caplog: pytest.LogCaptureFixture
) -> None:
    client = RawClient(daemon.smtp_port)
    try:
        client.envelope()
        assert client.command("DATA").startswith("354")
        assert client.message(nested_multipart(40)) == "250 2.0.0 Accepted and held for review"
        client.quit()
    finally:
        client.close()
    with daemon.runtime.sessions() as session:
        [held] = session.scalars(select(QuarantinedMessage)).all()
        assert session.scalars(select(Message)).all() == []
    assert held.status == QuarantineStatus.HELD
    assert held.error == "MIME nesting deeper than 30 levels"
    assert held.detail is None  # an expected outcome, no traceback kept
    assert not [r for r in caplog.records if r.exc_info or "RecursionError" in r.getMessage()]
