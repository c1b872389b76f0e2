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
from storage.models import Message
from tests.conftest import make_config
from tests.mails import customer_mail
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
