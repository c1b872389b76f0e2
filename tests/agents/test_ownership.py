"""Who owns a ticket after an agent's mail, and what the notices of that mail show: the first
agent who answers an unassigned ticket takes it (unless the mail's own ``#assign`` says
otherwise), and an "assigned to you" notice shows the ticket after all the mail's commands.
Through real SMTP, read back from the database and the sink."""

from __future__ import annotations

import pytest

from storage.models import OutboxMessage
from tests.agents.helpers import ADA, events, open_ticket, outbox, send_as_agent, sent_to, ticket
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink

ALICE = "alice@example.com"
BOB = "bob@example.com"
ANSWER = "Hello Ada,\n\nplease unplug the printer."


def text_of(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def notices_to(daemon: DaemonThread, address: str) -> list[OutboxMessage]:
    return [row for row in outbox(daemon, "notification") if address in row.recipients]


def customer_replies(daemon: DaemonThread) -> None:
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="Unplugged it. Still smoking.\n",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
        ),
        mail_from=ADA,
    )


def test_first_agent_to_answer_an_unassigned_ticket_becomes_its_assignee(
    daemon: DaemonThread, sink: Sink
) -> None:
    opened = open_ticket(daemon)
    assert len(notices_to(daemon, BOB)) == 1  # a new ticket: every agent hears of it
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail(ANSWER, to=to), to)
    sent_to(sink, ADA, 2)  # the acknowledgement, then Alice's answer
    assert ticket(daemon, 1000).assignee == ALICE
    [assigned] = [e for e in events(daemon, 1000) if e.kind == "assignment.changed"]
    assert assigned.actor == f"agent:{ALICE}"
    assert assigned.data["from"] is None and assigned.data["to"] == ALICE

    customer_replies(daemon)
    assert "Still smoking." in text_of(sent_to(sink, ALICE, 2)[-1])
    assert len(notices_to(daemon, BOB)) == 1  # the reply goes to the assignee only


@pytest.mark.parametrize(
    ("command", "owner"), [("#assign bob@example.com", BOB), ("#unassign", None)]
)
def test_an_assign_line_of_the_answer_decides_who_owns_the_ticket(
    daemon: DaemonThread, sink: Sink, command: str, owner: str | None
) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail(f"{command}\n{ANSWER}", to=to), to)
    sent_to(sink, ADA, 2)
    assert ticket(daemon, 1000).assignee == owner


def test_a_note_does_not_claim_the_ticket(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail("#note\nCalled her, no answer.", to=to), to)
    assert ticket(daemon, 1000).assignee is None


def test_assigned_notice_shows_the_ticket_after_every_command_of_the_mail(
    daemon: DaemonThread, sink: Sink
) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    commands = "#assign bob@example.com\n#priority high\n#category hardware"
    send_as_agent(daemon, agent_mail(commands, to=to), to)
    notice = text_of(sent_to(sink, BOB, 2)[-1])
    assert "was assigned to you" in notice
    assert "Priority: high" in notice and "Category: hardware" in notice
    assert "Priority: medium" not in notice


def test_commands_that_fail_send_no_assigned_notice(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail("#assign bob@example.com\n#priority whenever", to=to), to)
    sent_to(sink, ALICE, 2)  # the new-ticket notice, then "Not carried out"
    assert len(notices_to(daemon, BOB)) == 1  # only the new-ticket notice
    assert ticket(daemon, 1000).assignee is None
