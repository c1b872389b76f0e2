"""An agent's answer by mail reaches the customer: only the new text, from the support
address, in the customer's own thread. Through real SMTP, read back from the sink."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from maild.cli import cli
from storage.models import MessageKind, TicketStatus
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
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink
from tests.threading_jwz import threads

BOB = "Bob <bob@example.com>"
ANSWER = "Hello Ada,\n\nplease unplug the printer and open a window."


def customer_outbox(daemon: DaemonThread) -> list[str]:
    """The kinds of everything queued for the customer, in order."""
    return [row.kind for row in outbox(daemon) if ADA in row.recipients]


@pytest.mark.parametrize("style", ["thunderbird", "outlook"])
def test_agent_reply_reaches_customer_without_quoted_notification(
    daemon: DaemonThread, sink: Sink, style: str
) -> None:
    opened = open_ticket(daemon)
    token_address = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail(ANSWER, to=token_address, style=style), token_address)
    ack, reply = sent_to(sink, ADA, 2)
    message = reply.message
    assert reply.rcpt_tos == (ADA,)
    assert message["From"] == "Alice via ACME Support <support@example.com>"
    assert message["Subject"] == "[ACME #1000] Printer on fire"
    assert message["In-Reply-To"] == "<first@customer.example>"
    references = message["References"].split()
    assert references[0] == "<first@customer.example>"
    assert ack.message["Message-ID"] in references
    assert message["Reply-To"] == f"support+{opened.token}@example.com"
    assert opened.token in message["Message-ID"]
    assert message["Auto-Submitted"] is None  # a person wrote it
    assert message["Thread-Topic"] == "Printer on fire" and message["Thread-Index"]
    body = message.get_content()
    assert "please unplug the printer and open a window." in body
    assert "New ticket from" not in body and "wrote:" not in body and "Sent:" not in body
    # The agent's private address never reaches the customer.
    assert b"alice@" not in reply.raw.lower()
    assert re.fullmatch(rf"support\+{opened.token}-[a-z2-7]{{10}}@example\.com", reply.mail_from)

    after = ticket(daemon, 1000)
    assert after.status == TicketStatus.PENDING
    assert after.first_response_at is not None
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.AGENT and stored.from_address == "alice@example.com"
    [row] = outbox(daemon, "reply")
    assert row.automatic is False
    replied = [e for e in events(daemon, 1000) if e.kind == "agent.replied"]
    assert replied and replied[0].actor == "agent:alice@example.com"


def test_customer_facing_mail_forms_one_thread(daemon: DaemonThread, sink: Sink) -> None:
    """A real threading algorithm (JWZ over Message-ID/References) puts the customer's own
    mail, the acknowledgement and every relayed answer in one thread."""
    opened = open_ticket(daemon)
    token_address = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail(ANSWER, to=token_address), token_address)
    [_, first] = sent_to(sink, ADA, 2)
    # The customer answers the relayed reply, the agent answers again.
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="It smells funny now.\n",
            message_id="<second@customer.example>",
            in_reply_to=first.message["Message-ID"],
            references=first.message["References"] + " " + first.message["Message-ID"],
        ),
        mail_from=ADA,
    )
    daemon.send(
        agent_mail("Then call the fire brigade.", to=token_address),
        mail_from="alice@example.com",
        rcpt_tos=(token_address,),
    )
    received = sent_to(sink, ADA, 3)
    assert received[2].message["In-Reply-To"] == "<second@customer.example>"
    # The customer's own mail as their client keeps it, with everything they received.
    own = [
        customer_mail(message_id="<first@customer.example>"),
        customer_mail(
            message_id="<second@customer.example>",
            in_reply_to=first.message["Message-ID"],
            references=first.message["References"] + " " + first.message["Message-ID"],
        ),
    ]
    mails = [email.message_from_bytes(raw, policy=email.policy.default) for raw in own]
    mails += [r.message for r in received]
    assert len(mails) == 5
    assert len(threads(mails)) == 1

    # Each agent's notifications thread on their own as well (when notifications are sent).
    for agent in ("alice@example.com", "bob@example.com"):
        notices = [
            r.message
            for r in sink.received
            if agent in r.rcpt_tos and "Not carried out" not in str(r.message["Subject"])
        ]
        if len(notices) > 1:
            assert len(threads(notices)) == 1, agent


def test_note_stays_internal_and_shows_in_tickets_show(
    daemon: DaemonThread, sink: Sink, config_file: Path
) -> None:
    opened = open_ticket(daemon)
    token_address = f"support+{opened.token}@example.com"
    daemon.send(
        agent_mail("#note\nCustomer sounds upset; printer model XR-7.", to=token_address),
        mail_from="alice@example.com",
        rcpt_tos=(token_address,),
    )
    assert customer_outbox(daemon) == ["acknowledgement"]
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.NOTE
    after = ticket(daemon, 1000)
    assert after.status == TicketStatus.NEW and after.first_response_at is None
    shown = CliRunner().invoke(cli, ["-c", str(config_file), "tickets", "show", "1000"])
    assert shown.exit_code == 0, shown.output
    assert "note from alice@example.com" in shown.output
    assert "printer model XR-7" in shown.output


def test_only_commands_send_nothing(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    token_address = f"support+{opened.token}@example.com"
    daemon.send(
        agent_mail("#priority high\n#tag +vip", to=token_address),
        mail_from="alice@example.com",
        rcpt_tos=(token_address,),
    )
    assert customer_outbox(daemon) == ["acknowledgement"]
    after = ticket(daemon, 1000)
    assert after.priority == "high" and after.tags == ["vip"]


def test_attachment_the_agent_adds_is_forwarded(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    token_address = f"support+{opened.token}@example.com"
    data = b"%PDF-1.4 manual " + bytes(range(256))
    daemon.send(
        agent_mail(
            "The manual is attached.",
            to=token_address,
            attachment=("manual.pdf", "application/pdf", data),
        ),
        mail_from="alice@example.com",
        rcpt_tos=(token_address,),
    )
    _, reply = sent_to(sink, ADA, 2)
    [part] = list(reply.message.iter_attachments())
    assert part.get_filename() == "manual.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == data
    assert b"alice@" not in reply.raw.lower()


def test_note_policy_keeps_mail_internal_unless_send(daemon: DaemonThread, sink: Sink) -> None:
    """billing@ has agent_mail = "note": an answer stays internal; "#send" relays it."""
    opened = open_ticket(daemon, to="billing@example.com", message_id="<bill@customer.example>")
    token_address = f"billing+{opened.token}@example.com"
    daemon.send(
        agent_mail("Draft: we will refund you.", to=token_address, sender=BOB, subject="Re: x"),
        mail_from="bob@example.com",
        rcpt_tos=(token_address,),
    )
    assert customer_outbox(daemon) == ["acknowledgement"]
    assert messages(daemon, opened.number)[-1].kind == MessageKind.NOTE
    daemon.send(
        agent_mail("#send\nWe will refund you.", to=token_address, sender=BOB, subject="Re: x"),
        mail_from="bob@example.com",
        rcpt_tos=(token_address,),
    )
    assert customer_outbox(daemon) == ["acknowledgement", "reply"]
    _, reply = sent_to(sink, ADA, 2)
    assert reply.message["From"] == "Bob via ACME Billing <billing@example.com>"
    assert "We will refund you." in reply.message.get_content()
    assert "#send" not in reply.message.get_content()
