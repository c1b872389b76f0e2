"""What a notice tells agents: the ticket a new one is linked to, the files the announced
mail carries, new tickets from automated mail, and no empty notes of command-only mail."""

from __future__ import annotations

from email.message import EmailMessage

from tests.agents.helpers import ADA, open_ticket, outbox, send_as_agent, sent_to, ticket
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink

ALICE = "alice@example.com"


def text_of(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def test_notice_of_a_strangers_ticket_says_what_it_is_linked_to(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    daemon.send(
        customer_mail(
            sender="Mallory <mallory@evil.example>",
            subject="Re: [ACME #1000] Printer on fire",
            message_id="<m@evil.example>",
        ),
        mail_from="mallory@evil.example",
    )
    notices = sent_to(sink, ALICE, 2)
    assert "Linked to: [ACME #1000]" in text_of(notices[-1])
    assert "Linked to" not in text_of(notices[0])


def test_notice_lists_the_attachments_of_the_mail(daemon: DaemonThread, sink: Sink) -> None:
    message = EmailMessage()
    message["From"], message["To"] = f"Ada <{ADA}>", "support@example.com"
    message["Subject"], message["Message-ID"] = "Invoice wrong", "<inv@customer.example>"
    message.set_content("See the attached invoice.\n")
    message.add_attachment(
        b"%PDF-1.4 " + b"x" * 2400,
        maintype="application",
        subtype="pdf",
        filename="invoice-4711.pdf",
    )
    daemon.send(message.as_bytes(), mail_from=ADA)
    [notice] = sent_to(sink, ALICE, 1)
    assert "Attached:\n  - invoice-4711.pdf (2 KB)" in text_of(notice)


def test_automated_mail_that_opens_a_ticket_is_announced_never_acknowledged(
    daemon: DaemonThread, sink: Sink
) -> None:
    alert = customer_mail(
        sender="Monitoring <nagios@monitor.example>",
        subject="PROBLEM: disk full on db1",
        message_id="<alert-1@monitor.example>",
        headers={"Auto-Submitted": "auto-generated"},
    )
    daemon.send(alert, mail_from="")
    assert outbox(daemon, "acknowledgement") == []
    [notice] = sent_to(sink, ALICE, 1)
    assert "automated mail" in text_of(notice)
    assert not [r for r in sink.received if "nagios@monitor.example" in r.rcpt_tos]


def test_a_mail_of_commands_only_shows_no_empty_note(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail("#priority high", to=to), to)
    assert ticket(daemon, 1000).priority == "high"
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="Still burning.\n",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
        ),
        mail_from=ADA,
    )
    last = text_of(sent_to(sink, ALICE, 2)[-1])
    assert "Still burning." in last
    assert "(internal note)" not in last
