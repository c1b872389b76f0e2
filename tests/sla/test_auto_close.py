"""Auto-close through real SMTP: a resolved ticket the customer leaves alone is warned
about once, then closed; a reply in between reopens it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from maild.clock import ManualClock
from storage import tickets as ticket_queries
from storage.engine import writer_engine
from storage.models import Ticket, TicketStatus
from tests.mails import customer_mail
from tests.sla.conftest import delivered, edit, events, queued, sla_config, ticket
from tests.support import DaemonThread, Sink

AGENT = "agent:alice@example.com"
WARNING = "will be closed"


def resolve(daemon: DaemonThread) -> None:
    edit(daemon.runtime, 1000, lambda e: e.set_status(TicketStatus.RESOLVED), AGENT)


def test_resolved_ticket_is_warned_once_then_closed(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    runtime = daemon.runtime
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    acknowledgement = queued(runtime, "acknowledgement")[0].message_id
    resolve(daemon)

    clock.advance(timedelta(days=2) - timedelta(minutes=1))
    assert daemon.service.run_sla_sweep().auto_close.warned == 0
    clock.advance(timedelta(minutes=1))  # one day (auto_close_warning_days) before closing
    assert daemon.service.run_sla_sweep().auto_close.warned == 1
    assert daemon.service.run_sla_sweep().auto_close.warned == 0  # once

    warnings = delivered(daemon, sink, WARNING)
    assert len(warnings) == 1
    mail = warnings[0]
    assert mail.rcpt_tos == ("ada@customer.example",)
    message = mail.message
    record = ticket(runtime, 1000)
    assert message["From"] == "ACME Support <support@example.com>"
    assert message["Subject"] == "[ACME #1000] Printer on fire"
    assert message["Reply-To"] == f"support+{record.token}@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] == acknowledgement  # our last mail to the customer
    assert "<first@customer.example>" in message["References"]
    # VERP per recipient: the token, then the id of this recipient's copy.
    assert re.fullmatch(rf"support\+{record.token}-[a-z2-7]{{10}}@example\.com", mail.mail_from)
    assert record.auto_close_warned_at == clock.now()

    clock.advance(timedelta(days=1) - timedelta(minutes=1))
    assert daemon.service.run_sla_sweep().auto_close.closed == 0
    clock.advance(timedelta(minutes=1))  # three days after resolving
    assert daemon.service.run_sla_sweep().auto_close.closed == 1
    record = ticket(runtime, 1000)
    assert record.status == TicketStatus.CLOSED
    assert record.closed_at == clock.now()
    assert events(runtime, "ticket.auto_closed") == [{"days": 3}]
    assert daemon.service.run_sla_sweep().auto_close.closed == 0
    assert len(delivered(daemon, sink, WARNING)) == 1


def test_customer_reply_after_the_warning_reopens(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    runtime = daemon.runtime
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    resolve(daemon)
    clock.advance(timedelta(days=2))
    assert daemon.service.run_sla_sweep().auto_close.warned == 1

    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="Not fixed, sorry.\n",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
        )
    )
    record = ticket(runtime, 1000)
    assert record.status == TicketStatus.OPEN
    assert record.auto_close_warned_at is None
    assert record.resolved_at is None
    clock.advance(timedelta(days=5))
    run = daemon.service.run_sla_sweep()
    assert (run.auto_close.warned, run.auto_close.closed) == (0, 0)
    assert ticket(runtime, 1000).status == TicketStatus.OPEN

    # Resolved again: a new silence, a new warning.
    resolve(daemon)
    clock.advance(timedelta(days=2))
    assert daemon.service.run_sla_sweep().auto_close.warned == 1
    assert len(delivered(daemon, sink, WARNING)) == 2


def test_late_sweep_warns_first_and_closes_a_warning_period_later(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    daemon.send(customer_mail())
    resolve(daemon)
    clock.advance(timedelta(days=10))  # the daemon was down past both instants
    run = daemon.service.run_sla_sweep()
    assert (run.auto_close.warned, run.auto_close.closed) == (1, 0)
    clock.advance(timedelta(hours=23))
    assert daemon.service.run_sla_sweep().auto_close.closed == 0
    clock.advance(timedelta(hours=1))
    assert daemon.service.run_sla_sweep().auto_close.closed == 1


def test_bouncing_requester_gets_no_warning_but_the_ticket_closes(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    runtime = daemon.runtime
    daemon.send(customer_mail())
    with writer_engine(runtime.engine).begin() as connection:
        record = ticket(runtime, 1000)
        ticket_queries.mark_bouncing(connection, record.id, [record.requester])
    resolve(daemon)
    clock.advance(timedelta(days=2))
    assert daemon.service.run_sla_sweep().auto_close.warned == 1
    assert events(runtime, "auto_close.warning_skipped")[0]["reason"] == "address is bouncing"
    clock.advance(timedelta(days=1))
    assert daemon.service.run_sla_sweep().auto_close.closed == 1
    assert delivered(daemon, sink, WARNING) == []


def test_zero_days_turn_auto_close_and_its_warning_off(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    start_daemon: Callable[..., DaemonThread],
) -> None:
    daemon = start_daemon(
        sla_config(tmp_path, database_url, sink, maild={"auto_close_warning_days": 0})
    )
    daemon.send(customer_mail())
    resolve(daemon)
    clock.advance(timedelta(days=3))
    run = daemon.service.run_sla_sweep()
    assert (run.auto_close.warned, run.auto_close.closed) == (0, 1)
    assert delivered(daemon, sink, WARNING) == []
    daemon.stop()

    off = start_daemon(
        sla_config(tmp_path / "off", database_url, sink, maild={"auto_close_days": 0})
    )
    off.send(customer_mail(subject="Another one"))
    number = ticket_number_of_last(off)
    edit(off.runtime, number, lambda e: e.set_status(TicketStatus.RESOLVED), AGENT)
    clock.advance(timedelta(days=30))
    run = off.service.run_sla_sweep()
    assert (run.auto_close.warned, run.auto_close.closed) == (0, 0)
    assert ticket(off.runtime, number).status == TicketStatus.RESOLVED


def ticket_number_of_last(daemon: DaemonThread) -> int:
    with daemon.runtime.engine.connect() as connection:
        return int(connection.execute(select(func.max(Ticket.number))).scalar_one())
