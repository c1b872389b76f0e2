"""Webhook delivery is durable like the outbox: a receiver that is down or failing gets the
event later, once; a daemon stopped (or killed mid-send) before delivering delivers after
restart; the outbox's attempts and backoff apply; a slow receiver never holds up intake."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from outbound.outbox import default_backoff
from storage import webhooks
from storage.engine import writer_engine
from storage.models import WebhookDelivery, WebhookStatus
from tests.agents.helpers import ADA, open_ticket, tickets
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink, eventually
from tests.webhooks.conftest import webhook_data
from tests.webhooks.helpers import deliveries, settle
from tests.webhooks.receiver import Receiver


def restarted(receiver: Receiver, statuses: list[int] | None = None) -> Receiver:
    """The receiver up again on its port, answering ``statuses`` first."""
    again = Receiver(receiver.secrets, port=receiver.port)
    again.behaviour.statuses = list(statuses or [])
    return again.start()


def test_receiver_down_then_500_then_200_gets_the_event_once(
    daemon: DaemonThread, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.stop()
    open_ticket(daemon)
    settle(daemon)
    rows = deliveries(daemon)
    assert [(row.webhook, row.status, row.attempts) for row in rows] == [
        ("all", WebhookStatus.PENDING, 1),
        ("quiet", WebhookStatus.PENDING, 1),
    ]
    assert {row.next_attempt_at for row in rows} == {clock.now() + default_backoff(1)}
    assert all("ConnectError" in (row.last_error or "") for row in rows)

    up = restarted(receiver, statuses=[500, 500])
    try:
        settle(daemon)
        assert up.received() == []  # not due yet: the outbox's backoff holds
        clock.advance(default_backoff(1))
        settle(daemon)
        assert sorted(hook.answered for hook in up.received()) == [500, 500]
        assert {row.attempts for row in deliveries(daemon)} == {2}
        assert {row.last_error.split(" ")[1] for row in deliveries(daemon)} == {"500"}
        clock.advance(default_backoff(2))
        settle(daemon)
        clock.advance(timedelta(hours=12))
        settle(daemon)  # nothing more goes out
        for path in ("/all", "/quiet"):
            tries = up.received(path)
            assert [hook.answered for hook in tries] == [500, 200]
            assert len({hook.msg_id for hook in tries}) == 1  # one webhook-id for all tries
            assert [hook.error for hook in tries] == [None, None]
            assert tries[0].body == tries[1].body  # the same bytes each time
        assert [(row.status, row.attempts) for row in deliveries(daemon)] == [
            (WebhookStatus.DELIVERED, 3)
        ] * 2
        metrics = daemon.service.metrics
        assert metrics is not None
        counted = metrics.webhook_deliveries
        assert counted.labels("all", "failed")._value.get() == 2
        assert counted.labels("all", "delivered")._value.get() == 1
        assert b'maild_webhook_deliveries_total{outcome="dead",webhook="quiet"} 0.0' in (
            metrics.exposition()
        )
    finally:
        up.stop()


def test_events_left_when_the_daemon_stopped_go_out_after_restart(
    config: Config, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.stop()
    first = DaemonThread(config, clock).start()
    try:
        open_ticket(first)
        settle(first)  # the one attempt fails: nobody listens
    finally:
        first.stop()
    up = restarted(receiver)
    clock.advance(default_backoff(1))
    second = DaemonThread(config, clock).start()
    try:
        # Nothing asks for a flush: the restarted daemon sends what the last run left.
        delivered = up.wait_for(2)
        assert sorted(hook.path for hook in delivered) == ["/all", "/quiet"]
        assert {hook.type for hook in delivered} == {"ticket.created"}
        assert all(hook.error is None for hook in delivered)
    finally:
        second.stop()
        up.stop()


def test_a_delivery_claimed_by_a_worker_that_died_goes_out_once_its_lease_ends(
    config: Config, receiver: Receiver, clock: ManualClock
) -> None:
    receiver.stop()
    first = DaemonThread(config, clock).start()
    try:
        open_ticket(first)
        settle(first)
        engine = first.runtime.engine
        lease = first.runtime.outbox.lease
        clock.advance(default_backoff(1))
        # Another worker claims both rows, as it would before sending, and is killed.
        with writer_engine(engine).begin() as connection:
            claimed = webhooks.claim(connection, clock.now(), lease, 10)
        assert len(claimed) == 2
    finally:
        first.stop()
    up = restarted(receiver)
    second = DaemonThread(config, clock).start()
    try:
        settle(second)
        assert up.received() == []  # still leased to the dead worker: never sent twice at once
        clock.advance(lease)
        settle(second)
        assert sorted(hook.path for hook in up.received()) == ["/all", "/quiet"]
        assert [(row.status, row.attempts) for row in deliveries(second)] == [
            (WebhookStatus.DELIVERED, 3)
        ] * 2
    finally:
        second.stop()
        up.stop()


def test_given_up_after_the_outbox_lifetime_then_listed_and_retried_by_hand(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    receiver: Receiver,
    clock: ManualClock,
) -> None:
    from tests.webhooks.test_cli import run  # the console, as an operator runs it

    data = webhook_data(tmp_path, database_url, sink, receiver, max_lifetime="1m")
    receiver.stop()
    daemon = DaemonThread(config_from_mapping(data), clock).start()
    up: Receiver | None = None
    try:
        open_ticket(daemon)
        settle(daemon)
        clock.advance(default_backoff(1))
        settle(daemon)
        # [outbound] max_lifetime = "1m", as for mail: tried at once and a minute later.
        assert {row.status for row in deliveries(daemon)} == {WebhookStatus.DEAD}
        listed = run(tmp_path, data, "webhooks", "list", "--json")
        assert [(row["webhook"], row["status"], row["attempts"]) for row in listed] == [
            ("quiet", "dead", 2),
            ("all", "dead", 2),
        ]
        assert all(row["ticket"] == 1000 and row["last_error"] for row in listed)
        up = restarted(receiver)
        done = run(tmp_path, data, "webhooks", "retry", str(listed[0]["id"]), json=False)
        assert "due now (was dead)" in done
        settle(daemon)
        [hook] = up.received()
        assert hook.path == "/quiet" and hook.msg_id == listed[0]["webhook_id"]
        assert hook.error is None
        assert [row.status for row in deliveries(daemon)] == [
            WebhookStatus.DEAD,
            WebhookStatus.DELIVERED,
        ]
    finally:
        daemon.stop()
        if up is not None:
            up.stop()


def test_a_receiver_that_does_not_answer_never_holds_up_intake(
    daemon: DaemonThread, receiver: Receiver
) -> None:
    hold = receiver.behaviour.hold = threading.Event()
    started = time.monotonic()
    for n in range(10):
        daemon.send(
            customer_mail(subject=f"Question {n}", message_id=f"<q{n}@customer.example>"),
            mail_from=ADA,
        )
    took = time.monotonic() - started
    try:
        # Every mail was stored and acknowledged (250) while no webhook request was answered.
        assert receiver.received() == []
        assert len(tickets(daemon)) == 10
        assert eventually(lambda: any(row.attempts for row in deliveries(daemon)))
        assert took < 5.0, took  # far below the request timeout the worker waits up to
    finally:
        hold.set()
    assert len(receiver.wait_for(20)) == 20
    settle(daemon)
    assert {row.status for row in deliveries(daemon)} == {WebhookStatus.DELIVERED}


def test_imported_history_calls_no_webhook(
    tmp_path: Path, database_url: str, sink: Sink, receiver: Receiver
) -> None:
    from tests.webhooks.test_cli import run

    data = webhook_data(tmp_path, database_url, sink, receiver)
    archive = tmp_path / "old.eml"
    archive.mkdir()
    (archive / "1.eml").write_bytes(customer_mail(message_id="<old@customer.example>"))
    summary = run(tmp_path, data, "import", "--json", str(archive))
    assert summary["new_tickets"] == 1
    assert run(tmp_path, data, "webhooks", "list", "--all", "--json") == []


def test_a_change_rolled_back_queues_nothing(
    daemon: DaemonThread, receiver: Receiver, clock: ManualClock
) -> None:
    """The delivery row is written in the change's transaction: it goes if the change does."""
    from maild.ticketing.editor import TicketEditor
    from maild.ticketing.record import load_ticket
    from storage.models import TicketStatus

    ticket_id = open_ticket(daemon).id
    settle(daemon)
    before = len(deliveries(daemon))
    count = select(func.count()).select_from(WebhookDelivery)
    engine = writer_engine(daemon.runtime.engine)
    with engine.connect() as connection:
        transaction = connection.begin()
        editor = TicketEditor(connection, load_ticket(connection, ticket_id), clock.now(), "x")
        editor.set_status(TicketStatus.OPEN)
        editor.save()
        assert connection.execute(count).scalar_one() == before + 1  # in the transaction
        transaction.rollback()
    assert len(deliveries(daemon)) == before
    with engine.begin() as connection:
        editor = TicketEditor(connection, load_ticket(connection, ticket_id), clock.now(), "x")
        editor.set_status(TicketStatus.OPEN)
        editor.save()
    assert [row.event for row in deliveries(daemon)][before:] == ["ticket.status_changed"]
    settle(daemon)
    [hook] = [hook for hook in receiver.received() if hook.type == "ticket.status_changed"]
    assert hook.data["change"] == {"from": "new", "to": "open"} and hook.data["actor"] == "x"
