"""Command lines in an agent's mail: each changes the ticket through the editor and is an
event by ``agent:ADDRESS``; a failing one changes nothing and is answered to the agent."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from sqlalchemy import select

from storage.models import MessageKind, Participant, ParticipantRole, Ticket, TicketStatus
from tests.agents.helpers import (
    ADA,
    events,
    messages,
    open_ticket,
    outbox,
    send_as_agent,
    sent_to,
    ticket,
)
from tests.agents.mails import agent_mail
from tests.support import DaemonThread, Received, Sink, eventually

ALICE = "agent:alice@example.com"


def command(daemon: DaemonThread, text: str, *, sender: str = "Alice <alice@example.com>") -> None:
    opened = ticket(daemon, 1000)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail(text, to=to, sender=sender), to)


def participants(daemon: DaemonThread, number: int) -> dict[str, str]:
    with daemon.runtime.sessions() as session:
        rows = session.execute(
            select(Participant.address, Participant.role)
            .join(Ticket, Ticket.id == Participant.ticket_id)
            .where(Ticket.number == number)
        ).all()
    return {address: str(role) for address, role in rows}


def kinds_by(daemon: DaemonThread, actor: str) -> list[str]:
    return [e.kind for e in events(daemon, 1000) if e.actor == actor]


def test_each_command_changes_the_ticket_as_an_event(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    command(
        daemon,
        "#status open\n#priority high\n#category hardware\n#tag +vip +printer\n"
        "#assign bob@example.com\n#cc add carol@customer.example\n",
    )
    after = ticket(daemon, 1000)
    assert after.status == TicketStatus.OPEN
    assert after.priority == "high"
    assert after.category == "hardware"
    assert after.tags == ["vip", "printer"]
    assert after.assignee == "bob@example.com"
    assert participants(daemon, 1000)["carol@customer.example"] == ParticipantRole.CC
    assert {
        "status.changed",
        "priority.changed",
        "category.changed",
        "tags.changed",
        "assignment.changed",
        "participant.added",
    } <= set(kinds_by(daemon, ALICE))

    command(daemon, "#tag -vip\n#cc remove carol@customer.example\n#unassign\n#assign me")
    after = ticket(daemon, 1000)
    assert after.tags == ["printer"]
    assert after.assignee == "alice@example.com"
    assert "carol@customer.example" not in participants(daemon, 1000)
    assert "participant.removed" in kinds_by(daemon, ALICE)

    command(daemon, "#assign team:billing")
    assert ticket(daemon, 1000).team == "billing"
    command(daemon, "#resolve")
    assert ticket(daemon, 1000).status == TicketStatus.RESOLVED
    # Nothing of all that went to the customer: only commands.
    assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]


def test_status_command_wins_over_pending(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    command(daemon, "#status resolved\nAll fixed, closing this.")
    _, reply = sent_to(sink, ADA, 2)
    assert "All fixed" in reply.message.get_content()
    assert ticket(daemon, 1000).status == TicketStatus.RESOLVED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#status closed\n#priority whenever\nHi Ada", "unknown priority"),
        ("#status closed\n#frobnicate\nHi Ada", "unknown command #frobnicate"),
        ("#status closed\n#assign mallory@example.net\nHi Ada", "is not an agent"),
        ("#status closed\n#assign team:nobody\nHi Ada", "no team 'nobody'"),
        ("#status closed\n#cc remove ada@customer.example\nHi Ada", "requester"),
        ("#status closed\n#merge 4242\nHi Ada", "no ticket #4242"),
    ],
)
def test_failing_command_is_answered_and_nothing_reaches_the_customer(
    daemon: DaemonThread, sink: Sink, text: str, expected: str
) -> None:
    open_ticket(daemon)
    command(daemon, text)
    after = ticket(daemon, 1000)
    assert after.status == TicketStatus.NEW  # "#status closed" did not take effect either
    assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.NOTE
    [failed] = [e for e in events(daemon, 1000) if e.kind == "agent.commands_failed"]
    assert failed.actor == ALICE and expected in " ".join(failed.data["errors"])
    assert expected in agent_error(sink).get_content()


def agent_error(sink: Sink) -> EmailMessage:
    """The error reply the agent received."""

    def found() -> list[Received]:
        return [
            r
            for r in sink.received
            if "alice@example.com" in r.rcpt_tos and "Not carried out" in str(r.message["Subject"])
        ]

    assert eventually(lambda: bool(found()))
    return found()[0].message


def test_alias_of_an_agent_counts_as_the_agent(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    command(daemon, "#priority low", sender="Alice <alice.private@example.com>")
    assert ticket(daemon, 1000).priority == "low"
