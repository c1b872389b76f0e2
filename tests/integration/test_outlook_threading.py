"""Outlook threads by Thread-Index and Thread-Topic: the acknowledgement carries both, in
the customer's own conversation when their mail had an index. And what the outbox logs
names the ticket by its number."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import pytest

from outbound.threadindex import thread_index
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink, eventually


def decoded(value: object) -> bytes:
    return base64.b64decode(str(value), validate=True)


def test_acknowledgement_continues_the_customers_outlook_conversation(
    daemon: DaemonThread, sink: Sink
) -> None:
    theirs = thread_index("a conversation in ada's outlook", datetime(2026, 3, 2, 8, tzinfo=UTC))
    daemon.send(
        customer_mail(
            subject="Printer on fire",
            headers={"Thread-Index": theirs, "Thread-Topic": "Printer on fire"},
        )
    )
    [ack] = sink.wait_for(1)
    index = decoded(ack.message["Thread-Index"])
    assert index[:22] == decoded(theirs) and len(index) == 27
    assert ack.message["Thread-Topic"] == "Printer on fire"


def test_acknowledgement_starts_the_tickets_conversation(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(subject="Re: Printer on fire"))
    [ack] = sink.wait_for(1)
    assert ack.message["Thread-Topic"] == "Printer on fire"
    assert len(decoded(ack.message["Thread-Index"])) == 22  # the first of the conversation


def test_outbox_log_names_the_ticket_number(
    daemon: DaemonThread, sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="outbound.outbox")
    daemon.send(customer_mail(subject="Printer on fire"))
    sink.wait_for(1)
    assert eventually(lambda: any("sent to" in r.getMessage() for r in caplog.records))
    [sent] = [r for r in caplog.records if "sent to" in r.getMessage()]
    assert "(ticket #1000," in sent.getMessage() and sent.ticket == 1000  # type: ignore[attr-defined]
