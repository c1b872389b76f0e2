"""Rules, assignment, escalation and agent notifications through real SMTP: mail goes to
the daemon, what it stored is read from the database, what it sent from the sink."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from maild.cli import cli
from maild.clock import ManualClock
from maild.pipeline.delivery import Delivery
from rules.businesstime import to_us
from storage.models import AssignmentCursor, OutboxMessage, Ticket, TicketStatus
from tests.automation.helpers import (
    AGENTS,
    REFUND_RULE,
    SECURITY_RULE,
    VIP_RULE,
    events,
    make,
    text_of,
    tickets,
    to,
    write_rules_file,
)
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

Start = Callable[..., DaemonThread]

TEAM_ROUND_ROBIN = {"name": "to-support", "then": {"assign": "support"}}


@pytest.fixture
def start(tmp_path: Path, database_url: str, sink: Sink, clock: ManualClock) -> Iterator[Start]:
    running: list[DaemonThread] = []

    def run(**options: Any) -> DaemonThread:
        config = make(tmp_path, database_url, sink.port, **options)
        daemon = DaemonThread(config, clock).start()
        running.append(daemon)
        return daemon

    yield run
    for daemon in running:
        daemon.stop()


def send(daemon: DaemonThread, clock: ManualClock, **mail: Any) -> None:
    clock.advance(timedelta(minutes=1))
    rcpt = (mail.get("to", "support@example.com"),)
    assert daemon.send(customer_mail(**mail), rcpt_tos=rcpt) == {}


# --------------------------------------------------------------------------- the seeds


def test_security_keyword_makes_ticket_urgent_at_tier_l4(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start(rules=[SECURITY_RULE, TEAM_ROUND_ROBIN])
    send(daemon, clock, subject="Our account was hacked", body="Someone logged in.\n")

    [ticket] = tickets(daemon)
    assert (ticket.priority, ticket.tier, ticket.team) == ("urgent", "L4", "security")
    assert ticket.assignee is None  # stop = true: the round-robin rule did not run
    trail = [(e.kind, e.actor, e.data.get("rule")) for e in events(daemon, 1000)]
    assert ("priority.changed", "rule:security", "security") in trail
    assert ("ticket.escalated", "rule:security", "security") in trail
    assert not any(actor == "rule:to-support" for _, actor, _ in trail)
    received = sink.wait_for(3)  # the acknowledgement, the team address, the CISO
    ciso = to(received, "ciso@example.com")
    assert ciso and "escalated to tier L4" in text_of(ciso[0])
    assert to(received, "security-team@example.com")


def test_billing_refund_mail_is_high_with_tag(start: Start, clock: ManualClock) -> None:
    daemon = start(rules=[REFUND_RULE])
    send(daemon, clock, to="billing@example.com", subject="Invoice", body="I want a refund.\n")
    send(daemon, clock, to="support@example.com", subject="Invoice", body="I want a refund.\n")

    first, second = tickets(daemon)
    assert (first.priority, first.tags, first.category) == ("high", ["refund_request"], "billing")
    assert (second.priority, second.tags) == ("medium", [])  # not to the billing mailbox
    kinds = {(e.kind, e.actor) for e in events(daemon, 1000)}
    assert ("tags.changed", "rule:refunds") in kinds


def test_vip_customer_gets_high_priority_and_tier_l2(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start(rules=[VIP_RULE])
    send(daemon, clock, sender="Boss <boss@bigcorp.example>", subject="Where is my order")
    send(daemon, clock, sender="Ada <ada@customer.example>", subject="Where is my order")

    vip, other = tickets(daemon)
    assert (vip.priority, vip.tier, vip.team, vip.assignee) == (
        "high",
        "L2",
        "senior",
        "sue@example.com",
    )
    assert (other.priority, other.tier, other.assignee) == ("medium", None, None)
    received = sink.wait_for(3)
    [notice] = [
        m for m in to(received, "sue@example.com") if "[ACME #1000]" in m.message["Subject"]
    ]
    assert "escalated to tier L2 and assigned to you" in text_of(notice)


# --------------------------------------------------------------------------- strategies


def test_round_robin_gives_three_tickets_to_three_agents_and_survives_restart(
    start: Start, clock: ManualClock
) -> None:
    daemon = start(rules=[TEAM_ROUND_ROBIN])
    for n in range(2):
        send(daemon, clock, subject=f"question {n}")
    daemon.stop()
    daemon = start(rules=[TEAM_ROUND_ROBIN])  # a restart: the cursor comes from the database
    send(daemon, clock, subject="question 2")
    send(daemon, clock, subject="question 3")

    assignees = [ticket.assignee for ticket in tickets(daemon)]
    assert assignees == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "alice@example.com",
    ]
    with daemon.runtime.sessions() as session:
        assert session.get(AssignmentCursor, "support").position == 0


def test_least_busy_prefers_fewest_open_tickets(start: Start, clock: ManualClock) -> None:
    daemon = start(rules=[TEAM_ROUND_ROBIN], strategy="least_busy")
    for n in range(3):
        send(daemon, clock, subject=f"question {n}")
    assert [t.assignee for t in tickets(daemon)] == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    with daemon.runtime.write_sessions.begin() as session:  # Bob solved his ticket
        session.execute(
            update(Ticket).where(Ticket.number == 1001).values(status=TicketStatus.RESOLVED)
        )
    send(daemon, clock, subject="question 3")
    send(daemon, clock, subject="question 4")

    # Bob has none open; then all have one and Alice waited longest since her last.
    assert [t.assignee for t in tickets(daemon)][3:] == ["bob@example.com", "alice@example.com"]


def test_skills_assign_by_category(start: Start, clock: ManualClock) -> None:
    rules = [
        {"name": "tech", "when": {"subject": ["crash"]}, "then": {"category": "technical"}},
        {"name": "billing", "when": {"subject": ["invoice"]}, "then": {"category": "billing"}},
        {"name": "by-skill", "then": {"assign": {"team": "support", "strategy": "skills"}}},
    ]
    daemon = start(rules=rules)
    send(daemon, clock, subject="App crash on start")
    send(daemon, clock, subject="Invoice is wrong")
    send(daemon, clock, subject="Another crash")

    assert [(t.category, t.assignee) for t in tickets(daemon)] == [
        ("technical", "bob@example.com"),
        ("billing", "alice@example.com"),
        ("technical", "bob@example.com"),
    ]


def test_agent_at_max_open_is_skipped(start: Start, clock: ManualClock) -> None:
    agents = [dict(agent) for agent in AGENTS]
    agents[0]["max_open"] = 1
    daemon = start(rules=[TEAM_ROUND_ROBIN], agents=agents)
    for n in range(4):
        send(daemon, clock, subject=f"question {n}")

    assert [t.assignee for t in tickets(daemon)] == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "bob@example.com",  # Alice's turn, but she has her one ticket
    ]
    [assigned] = [e for e in events(daemon, 1003) if e.kind == "assignment.changed"]
    assert any("alice@example.com" in item for item in assigned.data["skipped"])


def test_nobody_eligible_leaves_ticket_with_team_and_tells_the_team(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    agents = [dict(agent, active=agent["address"] == "sue@example.com") for agent in AGENTS]
    daemon = start(rules=[TEAM_ROUND_ROBIN], agents=agents)
    send(daemon, clock, subject="anyone there?")

    [ticket] = tickets(daemon)
    assert (ticket.assignee, ticket.team) == (None, "support")
    # Nobody in the team is active: the team's active members (none) and no address, so
    # the mailbox's notify_new ("all" active agents: Sue) hears of the new ticket.
    received = sink.wait_for(2)
    [notice] = to(received, "sue@example.com")
    assert "New ticket from Ada Lovelace <ada@customer.example>" in text_of(notice)


def test_nobody_eligible_notifies_team_members(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    agents = [dict(agent, max_open=1) for agent in AGENTS]
    rules = [
        {"name": "billing", "when": {"subject": ["invoice"]}, "then": {"category": "billing"}},
        {"name": "by-skill", "then": {"assign": {"team": "support", "strategy": "skills"}}},
    ]
    daemon = start(rules=rules, agents=agents)
    send(daemon, clock, subject="invoice one")
    send(daemon, clock, subject="invoice two")

    first, second = tickets(daemon)
    assert first.assignee == "alice@example.com"
    assert (second.assignee, second.team) == (None, "support")
    received = sink.wait_for(6)  # 2 acks, "assigned to you", 3 "needs an owner"
    owners = [
        m
        for m in received
        if "[ACME #1001]" in m.message["Subject"] and m.rcpt_tos[0] != "ada@customer.example"
    ]
    assert sorted(m.rcpt_tos[0] for m in owners) == [
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    ]
    assert all("needs an owner" in text_of(m) for m in owners)


# --------------------------------------------------------------------------- notifications


def test_new_ticket_and_reply_notify_agents_with_reply_text_only(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start()  # no rules: every active agent hears of a new ticket
    send(daemon, clock, message_id="<q1@customer.example>")
    received = sink.wait_for(5)  # acknowledgement + four agents
    [ticket] = tickets(daemon)
    [notice] = to(received, "bob@example.com")
    message = notice.message
    assert message["Subject"].startswith("[ACME #1000] ")
    assert message["Reply-To"] == f"support+{ticket.token}@example.com"
    assert "New ticket from Ada Lovelace <ada@customer.example>" in text_of(notice)
    assert "our printer is on fire" in text_of(notice)

    send(
        daemon,
        clock,
        subject="Re: [ACME #1000] Printer on fire",
        in_reply_to="<q1@customer.example>",
        body="The fire is out now.\n\nOn Monday Ada wrote:\n> QUOTED-HISTORY line\n",
    )
    received = sink.wait_for(9)
    [reply_notice] = [m for m in to(received, "bob@example.com") if m is not notice]
    body = text_of(reply_notice)
    assert "Ada Lovelace replied" in body
    assert "The fire is out now." in body
    assert "QUOTED-HISTORY" not in body.split("earlier in this ticket")[0]
    assert reply_notice.message["In-Reply-To"] == message["Message-ID"]


def test_assignee_is_told_once_and_others_not_at_all(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start(rules=[TEAM_ROUND_ROBIN])
    send(daemon, clock, message_id="<q1@customer.example>")
    sink.wait_for(2)
    daemon.flush_outbox()
    received = sink.received
    [assigned] = to(received, "alice@example.com")
    assert "was assigned to you" in text_of(assigned)
    assert not to(received, "bob@example.com")
    assert len(received) == 2

    send(daemon, clock, in_reply_to="<q1@customer.example>", body="More details.\n")
    received = sink.wait_for(3)
    assert len(to(received, "alice@example.com")) == 2
    assert not to(received, "bob@example.com")


def test_automated_mail_runs_no_rules_and_is_announced_not_answered(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start(rules=[TEAM_ROUND_ROBIN])
    send(daemon, clock, subject="Out of office", headers={"Auto-Submitted": "auto-replied"})
    daemon.flush_outbox()

    [ticket] = tickets(daemon)
    assert ticket.assignee is None  # rules do not run on automated mail
    # The agents hear of the new ticket; the automated sender gets nothing back.
    assert sink.received and all(ticket.requester not in r.rcpt_tos for r in sink.received)
    assert {r.message["Subject"] for r in sink.received} == {f"[ACME #1000] {ticket.subject}"}


def test_rule_events_show_in_tickets_show(
    tmp_path: Path, database_url: str, sink: Sink, start: Start, clock: ManualClock
) -> None:
    daemon = start(rules=[REFUND_RULE])
    send(daemon, clock, to="billing@example.com", body="A refund, please.\n")
    path = tmp_path / "config.toml"
    data = config_data(tmp_path, database_url, sink.port)
    write_rules_file(path, data)

    result = CliRunner().invoke(cli, ["-c", str(path), "tickets", "show", "1000", "--events"])
    assert result.exit_code == 0, result.output
    assert "rule:refunds" in result.output


def test_quiet_source_runs_rules_but_tells_nobody(
    start: Start, sink: Sink, clock: ManualClock
) -> None:
    daemon = start(rules=[TEAM_ROUND_ROBIN, REFUND_RULE])
    raw = customer_mail(to="billing@example.com", body="An old refund request.\n")
    daemon.runtime.intake.deliver(
        Delivery(raw, "ada@customer.example", ("billing@example.com",), "import", notify=False)
    )
    daemon.flush_outbox()

    [ticket] = tickets(daemon)
    assert (ticket.assignee, ticket.tags) == ("alice@example.com", ["refund_request"])
    with daemon.runtime.sessions() as session:
        assert session.scalars(select(OutboxMessage)).all() == []
    assert sink.received == []


def test_reply_to_pending_ticket_events_read_in_the_order_they_happened(
    start: Start, clock: ManualClock
) -> None:
    """The mail's own events, the reopening and the rule's changes share one channel: by
    event id they read as they happened (a Cc joins, the ticket reopens, the message is
    stored, then the rules and notices follow), and the reopening resumes the SLA clock."""
    tagger = {
        "name": "follow-ups",
        "when": {"event": ["ticket.customer_replied"]},
        "then": {"tags": ["follow_up"]},
    }
    daemon = start(rules=[tagger])
    send(daemon, clock, message_id="<q1@customer.example>")
    paused_at = to_us(clock.now())
    with daemon.runtime.write_sessions() as session, session.begin():
        session.execute(
            update(Ticket).values(status=TicketStatus.PENDING, sla_paused=[[paused_at, None]])
        )
    before = len(events(daemon, 1000))

    send(
        daemon,
        clock,
        subject="Re: Printer on fire",
        in_reply_to="<q1@customer.example>",
        headers={"Cc": "Bob <bob@customer.example>"},
    )

    [ticket] = tickets(daemon)
    assert (ticket.status, ticket.tags) == (TicketStatus.OPEN, ["follow_up"])
    assert ticket.sla_paused == [[paused_at, to_us(clock.now())]]
    reply = [(e.kind, e.actor) for e in events(daemon, 1000)[before:]]
    assert [kind for kind, _ in reply][:4] == [
        "participant.added",
        "status.changed",
        "message.received",
        "tags.changed",
    ]
    assert reply[1] == ("status.changed", "customer:ada@customer.example")
    assert reply[3] == ("tags.changed", "rule:follow-ups")
    assert all(kind == "notification.queued" for kind, _ in reply[4:])
