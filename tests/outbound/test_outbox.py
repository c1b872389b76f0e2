"""The outbox worker against a real aiosmtpd relay, with a clock the tests move."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from outbound.compose import OutgoingMail, compose, make_message_id, new_ticket_token
from outbound.outbox import OutboxWorker, RetryPolicy, default_backoff
from outbound.transport import SmtpRelayTransport, Transport
from storage.models import OutboxMessage, OutboxStatus, Ticket, TicketStatus
from storage.outbox import enqueue, outbox_rows
from tests.outbound.conftest import ManualClock
from tests.support import Sink

MINUTE = timedelta(minutes=1)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def relay(port: int) -> SmtpRelayTransport:
    return SmtpRelayTransport("127.0.0.1", port, timeout=5.0)


def acknowledgement(token: str) -> tuple[str, bytes]:
    message_id = make_message_id(token, "example.com")
    raw = compose(
        OutgoingMail(
            from_name="ACME Support",
            from_address="support@example.com",
            to=(("Jane Doe", "jane@example.org"),),
            subject="[ACME #1000] Printer on fire",
            text="We received your request.\n",
            html="<p>We received your request.</p>\n",
            message_id=message_id,
            in_reply_to="<CAF123@mail.gmail.com>",
            references=("<CAF000@mail.gmail.com>", "<CAF123@mail.gmail.com>"),
            reply_to=f"support+{token}@example.com",
            date=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        )
    )
    return message_id, raw


def queue(
    sessions: sessionmaker[Session],
    now: ManualClock,
    count: int = 1,
    recipients: Sequence[str] = ("jane@example.org",),
) -> list[int]:
    ids = []
    with sessions() as session, session.begin():
        for _ in range(count):
            message_id, raw = acknowledgement(new_ticket_token())
            ids.append(
                enqueue(
                    session,
                    ticket_id=None,
                    kind="acknowledgement",
                    message_id=message_id,
                    mail_from="support@example.com",
                    recipients=recipients,
                    raw=raw,
                    now=now(),
                )
            )
    return ids


def row(sessions: sessionmaker[Session], row_id: int) -> OutboxMessage:
    with sessions() as session:
        found = session.get(OutboxMessage, row_id)
        assert found is not None
        return found


def test_flush_delivers_enqueued_message_with_threading_headers(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    [row_id] = queue(sessions, now)
    report = OutboxWorker(sessions, relay(sink.port), now).flush()
    assert (report.sent, report.retried, report.dead) == (1, 0, 0)
    [received] = sink.received
    assert received.mail_from == "support@example.com"
    assert received.rcpt_tos == ("jane@example.org",)
    message = received.message
    sent = row(sessions, row_id)
    assert message["Message-ID"] == sent.message_id
    assert message["In-Reply-To"] == "<CAF123@mail.gmail.com>"
    assert message["References"] == "<CAF000@mail.gmail.com> <CAF123@mail.gmail.com>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == "All"
    assert (sent.status, sent.attempts, sent.sent_at) == (OutboxStatus.SENT, 1, now())
    assert OutboxWorker(sessions, relay(sink.port), now).flush().sent == 0


def test_enqueue_joins_the_callers_transaction(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    message_id, raw = acknowledgement(new_ticket_token())
    with sessions() as session:
        session.begin()
        enqueue(
            session,
            ticket_id=None,
            kind="acknowledgement",
            message_id=message_id,
            mail_from="support@example.com",
            recipients=["jane@example.org"],
            raw=raw,
            now=now(),
        )
        session.rollback()
    assert OutboxWorker(sessions, relay(sink.port), now).flush().sent == 0
    with sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []


def test_enqueue_links_its_ticket(sessions: sessionmaker[Session], now: ManualClock) -> None:
    message_id, raw = acknowledgement(new_ticket_token())
    with sessions() as session, session.begin():
        ticket = Ticket(
            number=1000,
            token=new_ticket_token(),
            mailbox="support@example.com",
            subject="Printer on fire",
            status=TicketStatus.NEW,
            priority="medium",
            requester="jane@example.org",
            created_at=now(),
            updated_at=now(),
        )
        session.add(ticket)
        session.flush()
        enqueue(
            session,
            ticket_id=ticket.id,
            kind="acknowledgement",
            message_id=message_id,
            mail_from="support@example.com",
            recipients=["jane@example.org"],
            raw=raw,
            now=now(),
        )
    with sessions() as session:
        [listed] = outbox_rows(session)
        assert listed.ticket is not None and listed.ticket.number == 1000


def test_relay_451_keeps_row_pending_and_backs_off(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    [row_id] = queue(sessions, now)
    worker = OutboxWorker(sessions, relay(sink.port), now)
    sink.handler.data_reply = "451 4.3.0 Try again later"
    start = now()

    assert worker.flush().retried == 1
    pending = row(sessions, row_id)
    assert pending.status == OutboxStatus.PENDING
    assert pending.attempts == 1
    assert pending.next_attempt_at == start + default_backoff(1) == start + MINUTE
    assert pending.last_error is not None and "451" in pending.last_error

    now.advance(MINUTE - timedelta(seconds=1))
    assert worker.flush().retried == 0  # not due yet

    now.advance(timedelta(seconds=1))
    assert worker.flush().retried == 1
    pending = row(sessions, row_id)
    assert pending.attempts == 2
    assert pending.next_attempt_at == now() + 2 * MINUTE

    sink.handler.data_reply = "250 OK"
    now.advance(2 * MINUTE)
    assert worker.flush().sent == 1
    assert row(sessions, row_id).status == OutboxStatus.SENT
    assert len(sink.received) == 1


def test_row_is_tried_until_its_lifetime_ends_then_dead(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    [row_id] = queue(sessions, now)
    policy = RetryPolicy(max_lifetime=timedelta(minutes=10), max_backoff=timedelta(hours=1))
    worker = OutboxWorker(sessions, relay(sink.port), now, retry=policy)
    sink.handler.data_reply = "451 4.3.0 Try again later"
    start = now()
    reports, due = [], []
    for _ in range(5):
        reports.append(worker.flush())
        pending = row(sessions, row_id)
        due.append(pending.next_attempt_at - start if pending.status == "pending" else None)
        now.current = max(now(), pending.next_attempt_at)
    assert [(r.retried, r.dead) for r in reports] == [(1, 0)] * 4 + [(0, 1)]
    # 1, 2, 4 minutes apart; the last attempt when the lifetime ends, not 8 minutes later.
    assert due[:4] == [MINUTE * m for m in (1, 3, 7, 10)]
    dead = row(sessions, row_id)
    assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, 5)
    assert dead.last_error is not None and "451" in dead.last_error

    sink.handler.data_reply = "250 OK"
    now.advance(timedelta(days=1))
    assert worker.flush().sent == 0  # dead stays dead
    assert sink.received == []
    with sessions() as session:
        assert [r.id for r in outbox_rows(session)] == [row_id]
        assert outbox_rows(session, [OutboxStatus.SENT]) == []


def test_a_relay_down_for_two_days_delays_mail_and_loses_none(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    """Like an MTA's queue: tried at most an hour apart for the five default days."""
    [row_id] = queue(sessions, now)
    down = OutboxWorker(sessions, relay(closed_port()), now)
    start = now()
    attempts_at = []
    while now() - start < timedelta(days=2):
        assert down.flush().retried == 1
        attempts_at.append(now())
        now.current = row(sessions, row_id).next_attempt_at
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert max(gaps) == timedelta(hours=1)
    assert gaps[:3] == [MINUTE, 2 * MINUTE, 4 * MINUTE]
    assert row(sessions, row_id).status == OutboxStatus.PENDING

    assert OutboxWorker(sessions, relay(sink.port), now).flush().sent == 1
    assert row(sessions, row_id).status == OutboxStatus.SENT
    assert len(sink.received) == 1


def test_relay_550_kills_row_at_once(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    [row_id] = queue(sessions, now)
    sink.handler.data_reply = "550 5.7.1 Rejected by policy"
    report = OutboxWorker(sessions, relay(sink.port), now).flush()
    assert (report.sent, report.retried, report.dead) == (0, 0, 1)
    dead = row(sessions, row_id)
    assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, 1)
    assert dead.last_error is not None and "550 5.7.1" in dead.last_error


def test_recipient_refused_for_now_is_retried_for_that_recipient_only(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    [row_id] = queue(sessions, now, recipients=("jane@example.org", "bob@example.org"))
    worker = OutboxWorker(sessions, relay(sink.port), now)
    sink.handler.rcpt_replies = {"bob@example.org": "450 4.2.1 Mailbox busy"}
    assert worker.flush().retried == 1
    assert row(sessions, row_id).recipients == ["bob@example.org"]

    sink.handler.rcpt_replies = {}
    now.advance(MINUTE)
    assert worker.flush().sent == 1
    assert [r.rcpt_tos for r in sink.received] == [("jane@example.org",), ("bob@example.org",)]


def test_closed_relay_port_is_transient_and_stops_the_flush(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    first, second, third = queue(sessions, now, count=3)
    report = OutboxWorker(sessions, relay(closed_port()), now).flush()
    assert (report.sent, report.retried, report.dead) == (0, 1, 0)
    tried = row(sessions, first)
    assert (tried.status, tried.attempts) == (OutboxStatus.PENDING, 1)
    assert tried.next_attempt_at == now() + MINUTE
    assert tried.last_error is not None and "cannot use relay" in tried.last_error
    for untried in (row(sessions, second), row(sessions, third)):  # handed back, not counted
        assert (untried.status, untried.attempts) == (OutboxStatus.PENDING, 0)
        assert untried.next_attempt_at == now()


def test_claimed_row_is_not_claimed_again_while_leased(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    queue(sessions, now)
    inner_reports = []

    class Racing:
        """Runs a second worker while the first is sending (outside its transaction)."""

        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            inner_reports.append(OutboxWorker(sessions, relay(sink.port), now).flush())
            relay(sink.port).send(mail_from, recipients, raw)

    assert OutboxWorker(sessions, Racing(), now).flush().sent == 1
    assert [(r.sent, r.retried, r.dead) for r in inner_reports] == [(0, 0, 0)]
    assert len(sink.received) == 1


def test_concurrent_workers_send_each_message_once(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    ids = queue(sessions, now, count=40)
    sent: list[bytes] = []
    lock = threading.Lock()

    class Recording:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            with lock:
                sent.append(raw)

    errors: list[BaseException] = []

    def run() -> None:
        try:
            OutboxWorker(sessions, Recording(), now, batch_size=3).flush()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(sent) == len(set(sent)) == 40
    assert {row(sessions, i).status for i in ids} == {OutboxStatus.SENT}


def test_worker_takes_the_sqlite_write_lock_up_front(
    engine: Engine, sessions: sessionmaker[Session], now: ManualClock
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    queue(sessions, now)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2].strip()))

    class Null:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            pass

    OutboxWorker(sessions, Null(), now).flush()
    # Every transaction that writes (the claim, the record) began by taking the lock; the
    # look for due rows before the claim only reads.
    begun, writes = None, []
    for statement in statements:
        if statement.startswith("BEGIN"):
            begun = statement
        elif statement.startswith(("UPDATE", "INSERT")):
            writes.append(begun)
    assert len(writes) >= 2 and set(writes) == {"BEGIN IMMEDIATE"}


def test_batch_is_handed_back_when_half_the_lease_has_passed(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    ids = queue(sessions, now, count=3)
    sent: list[bytes] = []

    class Slow:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            sent.append(raw)
            now.advance(timedelta(minutes=3))

    worker = OutboxWorker(sessions, Slow(), now, lease=timedelta(minutes=5))
    assert worker.flush().sent == 3
    assert len(sent) == 3
    assert [row(sessions, i).attempts for i in ids] == [1, 1, 1]


def test_a_slow_send_started_before_the_hand_back_point_keeps_its_row(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    """The second row's send starts 2 minutes into a 5-minute lease and takes 3: past the
    claim's lease, a second worker looks for due mail. The row was renewed when the first
    one was recorded, so it is not due, and goes out once."""
    ids = queue(sessions, now, count=2)
    sent: list[bytes] = []
    others: list[bytes] = []

    class Others:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            others.append(raw)

    class SlowSecond:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            sent.append(raw)
            if len(sent) == 1:
                now.advance(timedelta(minutes=2))
            else:
                now.advance(timedelta(minutes=3, seconds=1))
                OutboxWorker(sessions, Others(), now, lease=timedelta(minutes=5)).flush()

    worker = OutboxWorker(sessions, SlowSecond(), now, lease=timedelta(minutes=5))
    assert worker.flush().sent == 2
    assert len(sent) == 2
    assert others == []
    assert [(row(sessions, i).status, row(sessions, i).attempts) for i in ids] == [
        (OutboxStatus.SENT, 1),
        (OutboxStatus.SENT, 1),
    ]


def test_unexpected_transport_error_is_retried_not_raised(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    [row_id] = queue(sessions, now)

    class Broken:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            raise RuntimeError("bug in a transport")

    assert OutboxWorker(sessions, Broken(), now).flush().retried == 1
    assert row(sessions, row_id).last_error == "bug in a transport"


def test_flush_is_bounded_even_when_rows_are_due_again_at_once(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    queue(sessions, now)

    class Failing:
        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            raise RuntimeError("always")

    policy = RetryPolicy(first_backoff=timedelta(0))
    worker = OutboxWorker(sessions, Failing(), now, retry=policy, max_rounds=5)
    assert worker.flush().retried == 5


def test_worker_closes_the_relay_connection_after_a_flush(
    sessions: sessionmaker[Session], sink: Sink, now: ManualClock
) -> None:
    queue(sessions, now, count=3)
    transport = relay(sink.port)
    OutboxWorker(sessions, transport, now, batch_size=2).flush()
    assert sink.handler.connections == 1  # one connection for both batches
    assert transport._smtp is None


def test_default_backoff_doubles_from_one_minute_up_to_an_hour() -> None:
    assert [default_backoff(n) for n in range(1, 7)] == [MINUTE * m for m in (1, 2, 4, 8, 16, 32)]
    assert default_backoff(7) == timedelta(hours=1)
    assert default_backoff(10_000) == timedelta(hours=1)


def test_retry_policy_gives_up_at_the_lifetime_counted_from_the_series_start() -> None:
    policy = RetryPolicy(max_lifetime=timedelta(days=5), max_backoff=timedelta(hours=1))
    since = datetime(2026, 3, 2, tzinfo=UTC)
    assert policy.next_attempt(1, since, since) == since + MINUTE
    late = since + timedelta(days=5) - timedelta(minutes=10)
    assert policy.next_attempt(40, since, late) == since + timedelta(days=5)
    assert policy.next_attempt(41, since, since + timedelta(days=5)) is None


def test_enqueue_refuses_naive_time_and_no_recipients(
    sessions: sessionmaker[Session], now: ManualClock
) -> None:
    with sessions() as session:
        common = {"ticket_id": None, "kind": "x", "message_id": "<a@b>", "mail_from": "s@e"}
        with pytest.raises(ValueError, match="naive"):
            enqueue(session, **common, recipients=["a@b"], raw=b"", now=datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="recipient"):
            enqueue(session, **common, recipients=[], raw=b"", now=now())


def _transport_protocol_is_satisfied(transport: SmtpRelayTransport) -> Transport:
    return transport  # checked by a type checker: the classes fit the Protocol
