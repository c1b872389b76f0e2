"""``#merge`` and ``#canned`` through real SMTP."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import MessageKind, Participant, Ticket, TicketStatus
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
from tests.agents.test_commands import agent_error
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink


def participants(daemon: DaemonThread, number: int) -> list[str]:
    with daemon.runtime.sessions() as session:
        return list(
            session.scalars(
                select(Participant.address)
                .join(Ticket, Ticket.id == Participant.ticket_id)
                .where(Ticket.number == number)
            )
        )


def as_alice(daemon: DaemonThread, number: int, text: str) -> None:
    to = f"support+{ticket(daemon, number).token}@example.com"
    send_as_agent(daemon, agent_mail(text, to=to), to)


def test_merge_moves_everything_and_tells_the_customer_once(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)  # 1000
    source = open_ticket(
        daemon, subject="Printer still burning", message_id="<dup@customer.example>"
    )
    assert source.number == 1001
    sent_to(sink, ADA, 2)  # both acknowledgements
    as_alice(daemon, 1001, "#merge 1000\nSame fire as #1000.")

    merged = ticket(daemon, 1001)
    target = ticket(daemon, 1000)
    assert merged.status == TicketStatus.CLOSED and merged.merged_into_id == target.id
    assert messages(daemon, 1001) == []
    moved = messages(daemon, 1000)
    assert [m.message_id for m in moved][:2] == [
        "<first@customer.example>",
        "<dup@customer.example>",
    ]
    assert moved[-1].kind == MessageKind.NOTE  # the agent's mail, kept on the target
    people = participants(daemon, 1000)
    assert people.count(ADA) == 1  # both tickets were Ada's: she is not on the target twice
    assert participants(daemon, 1001) == []
    assert any(e.kind == "ticket.merged" for e in events(daemon, 1001))
    assert any(e.kind == "ticket.merged_from" for e in events(daemon, 1000))
    assert any(
        e.kind == "ticket.created" and e.data["subject"] == "Printer still burning"
        for e in events(daemon, 1000)
    )  # the source's history moved along

    [notice_row] = outbox(daemon, "merged")
    assert notice_row.recipients == [ADA]
    received = sent_to(sink, ADA, 3)[2]
    notice = received.message
    assert notice["Auto-Submitted"] == "auto-generated"
    assert notice["In-Reply-To"] == "<dup@customer.example>"  # the customer's own thread
    assert "[ACME #1000]" in notice["Subject"] and target.token in notice["Reply-To"]
    assert "#1001" in notice.get_content() and "#1000" in notice.get_content()
    assert b"alice@" not in received.raw.lower()

    # The customer answers the notice of the merged ticket: it lands on the target, once.
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1001] Printer still burning",
            message_id="<after@customer.example>",
            in_reply_to="<dup@customer.example>",
        ),
        mail_from=ADA,
        rcpt_tos=(f"support+{source.token}@example.com",),
    )
    assert messages(daemon, 1000)[-1].message_id == "<after@customer.example>"
    assert len(outbox(daemon, "merged")) == 1
    assert ticket(daemon, 1000).status != TicketStatus.CLOSED


def test_merge_only_within_one_mailbox(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)  # 1000, support@
    open_ticket(daemon, to="billing@example.com", message_id="<bill@customer.example>")  # 1001
    as_alice(daemon, 1000, "#merge 1001")
    assert ticket(daemon, 1000).merged_into_id is None
    assert "tickets merge only within one mailbox" in agent_error(sink).get_content()


def test_canned_response_is_inserted_before_the_agent_text(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    as_alice(daemon, 1000, "#canned reset\nP.S. Choose a long one.")
    _, reply = sent_to(sink, ADA, 2)
    body = reply.message.get_content().replace("\r\n", "\n")
    assert "Hello Ada Lovelace," in body
    assert "your password for ticket 1000 ([ACME #1000]) is reset." in body
    assert body.index("is reset.") < body.index("P.S. Choose a long one.")
    assert "\nAlice\n" in body
    assert "#canned" not in body


def test_missing_or_broken_or_escaping_canned_response_is_an_error(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    for name, expected in (
        ("nothere", "no canned response 'nothere'"),
        ("broken", "canned response 'broken' failed"),
        ("../secret", "not a template name"),
    ):
        as_alice(daemon, 1000, f"#canned {name}\nText")
        assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]
        failed = [e for e in events(daemon, 1000) if e.kind == "agent.commands_failed"]
        assert expected in " ".join(failed[-1].data["errors"]), name
