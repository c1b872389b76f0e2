"""A test may flush the daemon's outbox itself instead of polling the relay: the flush
returns only once everything due is at the relay, and it never races the daemon's own
outbox worker into sending a message twice."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from storage.models import OutboxMessage, OutboxStatus
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

CUSTOMERS = 12


def send_from_many_customers(daemon: DaemonThread) -> None:
    # One sender and domain each: the hourly limits on automatic mail stay out of the way.
    for n in range(CUSTOMERS):
        daemon.send(
            customer_mail(sender=f"c{n}@customer{n}.example", message_id=f"<q{n}@x.example>"),
            mail_from=f"c{n}@customer{n}.example",
        )


def statuses(daemon: DaemonThread) -> Counter[str]:
    with daemon.runtime.sessions() as session:
        return Counter(str(status) for status in session.scalars(select(OutboxMessage.status)))


def test_flush_outbox_returns_once_everything_due_is_at_the_relay(
    daemon: DaemonThread, sink: Sink
) -> None:
    send_from_many_customers(daemon)  # each commit wakes the daemon's worker as well
    daemon.flush_outbox()
    acknowledged = [r for r in sink.received if r.rcpt_tos[0].startswith("c")]
    assert len(acknowledged) == CUSTOMERS  # no waiting: the flush waited for the worker
    assert statuses(daemon) == Counter({str(OutboxStatus.SENT): len(sink.received)})


def test_flushes_racing_the_worker_send_each_message_once(daemon: DaemonThread, sink: Sink) -> None:
    """Flushes from other threads, past the service's lock, straight at the outbox worker
    while the daemon's own worker flushes too: the claim leases each row to one of them."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def flush_until_stopped() -> None:
        while not stop.is_set():
            try:
                daemon.runtime.outbox.flush()
            except BaseException as error:  # surfaced below
                errors.append(error)
                return

    flushers = [threading.Thread(target=flush_until_stopped) for _ in range(3)]
    for flusher in flushers:
        flusher.start()
    try:
        send_from_many_customers(daemon)
    finally:
        stop.set()
        for flusher in flushers:
            flusher.join()
    daemon.flush_outbox()
    assert not errors
    copies = Counter((r.message["Message-ID"], r.rcpt_tos) for r in sink.received)
    assert copies and set(copies.values()) == {1}, copies.most_common(3)
    assert statuses(daemon) == Counter({str(OutboxStatus.SENT): len(sink.received)})
