"""SLA warnings, breaches and escalation through real SMTP: a customer writes, the test
moves the daemon's clock and runs the sweep, the mails arrive at the sink once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from maild.clock import ManualClock
from maild.ticketing.editor import TicketEditor
from storage.models import TicketStatus
from tests.mails import customer_mail
from tests.sla.conftest import delivered, edit, events, queued, sla_config, text_of, ticket
from tests.support import DaemonThread, Sink

AGENT = "agent:alice@example.com"


def assign_alice(editor: TicketEditor) -> None:
    editor.assign("alice@example.com", "support")
    editor.set_tier("L1")


def test_warning_then_breach_each_once_and_escalates(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    daemon.send(customer_mail())
    runtime = daemon.runtime
    edit(runtime, 1000, assign_alice, AGENT)

    clock.advance(timedelta(minutes=44))
    assert daemon.service.run_sla_sweep().sweep.fired == 0
    assert delivered(daemon, sink, "SLA warning") == []

    clock.advance(timedelta(minutes=2))  # 46 min: past 75 % of the hour
    assert daemon.service.run_sla_sweep().sweep.fired == 1
    warnings = delivered(daemon, sink, "SLA warning")
    assert [mail.rcpt_tos for mail in warnings] == [("alice@example.com",)]
    message = warnings[0].message
    assert "[ACME #1000]" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert "first response" in text_of(warnings[0])
    assert "2026-03-02 10:00 UTC" in text_of(warnings[0])
    assert ticket(runtime, 1000).sla_fired == ["first_response.warning"]
    assert events(runtime, "sla.warning") == [
        {
            "target": "first_response",
            "due_at": "2026-03-02T09:45:00+00:00",
            "deadline": "2026-03-02T10:00:00+00:00",
        }
    ]

    assert daemon.service.run_sla_sweep().sweep.fired == 0  # a second sweep: nothing

    clock.advance(timedelta(minutes=15))  # 61 min: breached
    assert daemon.service.run_sla_sweep().sweep.fired == 1
    breaches = delivered(daemon, sink, "SLA breached")
    # To the escalation target: tier L2's team.
    assert [mail.rcpt_tos for mail in breaches] == [("bob@example.com",)]
    assert "tier L2" in text_of(breaches[0])
    record = ticket(runtime, 1000)
    assert record.tier == "L2"
    assert record.team == "l2"
    assert record.assignee == "bob@example.com"
    assert record.priority == "high"  # the tier raises it one step
    assert "sla_breached" in record.tags  # the sla.breached rule ran
    assert sorted(record.sla_fired) == ["first_response.breach", "first_response.warning"]
    assert [e["target"] for e in events(runtime, "sla.breached")] == ["first_response"]
    # L1 by the agent at the start, L2 by the breach.
    assert [e["to"] for e in events(runtime, "ticket.escalated")] == ["L1", "L2"]

    before = len(sink.received)
    assert daemon.service.run_sla_sweep().sweep.fired == 0
    assert len(queued(runtime, "sla_breach")) == 1
    assert len(queued(runtime, "sla_warning")) == 1
    delivered(daemon, sink, "")
    assert len(sink.received) == before


def test_unassigned_ticket_warns_its_team(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, lambda e: e.assign(None, "support"), AGENT)
    clock.advance(timedelta(minutes=50))
    daemon.service.run_sla_sweep()
    warnings = delivered(daemon, sink, "SLA warning")
    assert [mail.rcpt_tos for mail in warnings] == [("alice@example.com",)]


def test_first_response_in_time_fires_nothing(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, assign_alice, AGENT)
    clock.advance(timedelta(minutes=30))
    edit(daemon.runtime, 1000, lambda e: e.mark_first_response(), AGENT)
    clock.advance(timedelta(minutes=60))
    assert daemon.service.run_sla_sweep().sweep.fired == 0
    assert delivered(daemon, sink, "SLA ") == []


def test_pending_ticket_pauses_the_clock_until_the_customer_replies(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    runtime = daemon.runtime
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    edit(runtime, 1000, assign_alice, AGENT)
    clock.advance(timedelta(minutes=10))
    edit(runtime, 1000, lambda e: e.set_status(TicketStatus.PENDING), AGENT)

    clock.advance(timedelta(hours=3))  # waiting on the customer: the clock stands still
    assert daemon.service.run_sla_sweep().sweep.fired == 0
    assert delivered(daemon, sink, "SLA warning") == []

    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="It is still burning.\n",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
            references="<first@customer.example>",
        )
    )
    record = ticket(runtime, 1000)
    assert record.status == TicketStatus.OPEN
    assert record.sla_paused and record.sla_paused[-1][1] is not None  # the pause ended

    clock.advance(timedelta(minutes=34))  # 44 business minutes in all
    assert daemon.service.run_sla_sweep().sweep.fired == 0
    clock.advance(timedelta(minutes=2))  # 46
    assert daemon.service.run_sla_sweep().sweep.fired == 1
    assert len(delivered(daemon, sink, "SLA warning")) == 1


def test_business_hours_and_holiday(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    start_daemon: Callable[..., DaemonThread],
) -> None:
    config = sla_config(
        tmp_path,
        database_url,
        sink,
        sla={
            "timezone": "Europe/Berlin",
            "business_hours": {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-03-03"],
            "policies": {"medium": {"first_response": "1h", "resolution": "8h"}},
        },
    )
    daemon = start_daemon(config)
    clock.advance(timedelta(hours=6, minutes=30))  # Monday 15:30 UTC = 16:30 in Berlin
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, assign_alice, AGENT)

    # 30 business minutes on Monday, Tuesday is a holiday, 15 more on Wednesday morning.
    for at, fired in (
        (datetime(2026, 3, 3, 11, 0, tzinfo=UTC), 0),  # the holiday
        (datetime(2026, 3, 4, 8, 14, tzinfo=UTC), 0),  # Wednesday 09:14 in Berlin
        (datetime(2026, 3, 4, 8, 15, tzinfo=UTC), 1),  # 45 business minutes: warning
        (datetime(2026, 3, 4, 8, 29, tzinfo=UTC), 0),
        (datetime(2026, 3, 4, 8, 30, tzinfo=UTC), 1),  # 60: breach
    ):
        clock.advance(at - clock.now())
        assert daemon.service.run_sla_sweep().sweep.fired == fired, at
    warning = delivered(daemon, sink, "SLA warning")
    assert len(warning) == 1
    assert "2026-03-04 09:30 Europe/Berlin" in text_of(warning[0])
    breach = delivered(daemon, sink, "SLA breached")
    assert len(breach) == 1
    # The target is business time and says so (it read "1 h", as if on the wall clock).
    assert "first response target (1 h business)" in text_of(breach[0])
    assert "within 1 h business" in text_of(breach[0])


def test_late_sweep_sends_the_breach_alone(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    daemon.send(customer_mail(subject="Printer <b>on fire</b>"))
    edit(daemon.runtime, 1000, lambda e: e.assign("alice@example.com", "support"), AGENT)
    clock.advance(timedelta(hours=2))  # the daemon was down past the warning and the breach
    assert daemon.service.run_sla_sweep().sweep.fired == 2
    assert sorted(ticket(daemon.runtime, 1000).sla_fired) == [
        "first_response.breach",
        "first_response.warning",
    ]
    assert delivered(daemon, sink, "SLA warning") == []
    breaches = delivered(daemon, sink, "SLA breached")
    # Below the first tier: the breach goes to tier L1's team, and the ticket moves there.
    assert [mail.rcpt_tos for mail in breaches] == [("alice@example.com",)]
    assert ticket(daemon.runtime, 1000).tier == "L1"
    html = breaches[0].message.get_body(("html",))
    assert html is not None
    assert "Printer &lt;b&gt;on fire&lt;/b&gt;" in html.get_content()
    assert "<b>on fire" not in html.get_content()


def test_breaches_at_the_last_tier_go_to_its_addresses_again(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    clock: ManualClock,
    start_daemon: Callable[..., DaemonThread],
) -> None:
    """Regression: once a ticket sat at the last tier (addresses only), later breaches went
    to the assignee instead of that tier's addresses."""
    config = sla_config(
        tmp_path,
        database_url,
        sink,
        escalation={
            "tiers": [
                {"name": "L1", "team": "support"},
                {"name": "L2", "addresses": ["duty-manager@example.com"]},
            ]
        },
    )
    daemon = start_daemon(config)
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, lambda e: e.assign("alice@example.com", "support"), AGENT)
    edit(daemon.runtime, 1000, lambda e: e.set_tier("L2"), AGENT)

    clock.advance(timedelta(minutes=46))
    assert daemon.service.run_sla_sweep().sweep.fired == 1
    warnings = delivered(daemon, sink, "SLA warning")
    assert [mail.rcpt_tos for mail in warnings] == [("alice@example.com",)]  # the assignee

    clock.advance(timedelta(minutes=15))  # the first-response breach
    assert daemon.service.run_sla_sweep().sweep.fired == 1
    breaches = delivered(daemon, sink, "SLA breached")
    assert [mail.rcpt_tos for mail in breaches] == [("duty-manager@example.com",)]

    clock.advance(timedelta(hours=7))  # 8 h: the resolution warning and breach at once
    assert daemon.service.run_sla_sweep().sweep.fired == 2
    breaches = delivered(daemon, sink, "SLA breached")
    assert [mail.rcpt_tos for mail in breaches] == [("duty-manager@example.com",)] * 2
    assert "resolution" in text_of(breaches[1])
    record = ticket(daemon.runtime, 1000)
    assert (record.tier, record.assignee) == ("L2", "alice@example.com")  # nowhere higher
    assert [e["to"] for e in events(daemon.runtime, "ticket.escalated")] == ["L2"]
