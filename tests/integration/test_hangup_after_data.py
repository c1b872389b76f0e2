"""A client that hangs up after sending a message, before its answer: the message is
stored all the same, and the intake writer goes on answering everyone else."""

from __future__ import annotations

import socket

from sqlalchemy import func, select

from storage.models import Message
from tests.mails import customer_mail
from tests.support import DaemonThread, eventually


def hang_up_after_data(port: int, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        replies = connection.makefile("rb")
        replies.readline()
        for line in (
            b"HELO x",
            b"MAIL FROM:<ada@customer.example>",
            b"RCPT TO:<support@example.com>",
        ):
            connection.sendall(line + b"\r\n")
            while replies.readline()[3:4] == b"-":
                pass
        connection.sendall(b"DATA\r\n")
        assert replies.readline().startswith(b"354")
        connection.sendall(raw + b"\r\n.\r\n")
        connection.shutdown(socket.SHUT_RDWR)


def stored_messages(daemon: DaemonThread) -> int:
    with daemon.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_hanging_up_after_data_stops_nothing(daemon: DaemonThread) -> None:
    for n in range(10):
        hang_up_after_data(daemon.smtp_port, customer_mail(subject=f"gone {n}"))
    assert eventually(lambda: stored_messages(daemon) == 10)
    assert daemon.runtime.writer.alive
    assert daemon.send(customer_mail(subject="still answered")) == {}
    assert stored_messages(daemon) == 11
