"""Intake through a real SMTP connection, acknowledgements read back from a real sink."""

from __future__ import annotations

import smtplib
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from maild.cli import cli
from storage.models import (
    Event,
    Message,
    MessageKind,
    OutboxMessage,
    Participant,
    QuarantinedMessage,
    Ticket,
    TicketStatus,
)
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink


def tickets(daemon: DaemonThread) -> list[Ticket]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.number)))


def outbox(daemon: DaemonThread) -> list[OutboxMessage]:
    """Everything maild has queued to send; written in the intake transaction, so it is
    complete the moment the 250 arrives."""
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def messages(daemon: DaemonThread) -> list[Message]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Message).order_by(Message.id)))


def test_new_mail_opens_ticket_and_acknowledges(daemon: DaemonThread, sink: Sink) -> None:
    raw = customer_mail(message_id="<first@customer.example>", references="<older@x.example>")
    assert daemon.send(raw, mail_from="ada@customer.example") == {}

    [ticket] = tickets(daemon)
    assert ticket.number == 1000
    assert ticket.status == TicketStatus.NEW
    assert ticket.requester == "ada@customer.example"
    [ack] = sink.wait_for(1)
    message = ack.message
    assert ack.rcpt_tos == ("ada@customer.example",)
    assert message["Subject"].startswith("[ACME #1000] ")
    assert "Printer on fire" in message["Subject"]
    assert message["In-Reply-To"] == "<first@customer.example>"
    assert message["References"].split() == ["<older@x.example>", "<first@customer.example>"]
    assert message["Auto-Submitted"] == "auto-replied"
    assert ticket.token in message["Message-ID"]
    assert message["Reply-To"] == f"support+{ticket.token}@example.com"
    assert "[ACME #1000]" in message.get_body(("plain",)).get_content()


def test_reply_to_acknowledgement_by_in_reply_to_threads(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    [ack] = sink.wait_for(1)
    reply = customer_mail(
        subject="a reply without any tag",
        message_id="<second@customer.example>",
        in_reply_to=ack.message["Message-ID"],
    )
    daemon.send(reply)

    assert len(tickets(daemon)) == 1
    assert [m.message_id for m in messages(daemon)] == [
        "<first@customer.example>",
        "<second@customer.example>",
    ]
    assert len(outbox(daemon)) == 1  # a reply is not acknowledged again


def test_reply_with_subject_tag_only_from_requester_threads(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire", message_id="<second@customer.example>"
        )
    )
    assert [t.number for t in tickets(daemon)] == [1000]
    assert len(messages(daemon)) == 2


def test_reply_referencing_stored_message_threads(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    daemon.send(
        customer_mail(
            subject="more",
            message_id="<second@customer.example>",
            references="<first@customer.example>",
        )
    )
    assert [t.number for t in tickets(daemon)] == [1000]


def test_subject_tag_from_stranger_opens_linked_ticket(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            sender="Mallory <mallory@attacker.example>",
            message_id="<evil@attacker.example>",
        )
    )
    first, second = tickets(daemon)
    assert second.number == 1001
    assert second.requester == "mallory@attacker.example"
    assert second.linked_ticket_id == first.id
    with daemon.runtime.sessions() as session:
        on_first = session.scalars(
            select(Participant.address).where(Participant.ticket_id == first.id)
        ).all()
    assert on_first == ["ada@customer.example"]


def test_customer_reply_reopens_pending_ticket(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    with daemon.runtime.write_sessions() as session, session.begin():
        session.scalars(select(Ticket)).one().status = TicketStatus.PENDING
    daemon.send(customer_mail(subject="Re: [ACME #1000]", message_id="<second@customer.example>"))
    [ticket] = tickets(daemon)
    assert ticket.status == TicketStatus.OPEN
    with daemon.runtime.sessions() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == [
        "ticket.created",
        "acknowledgement.queued",
        "status.changed",
        "message.received",
    ]


def test_mail_to_closed_ticket_opens_follow_up(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    with daemon.runtime.write_sessions() as session, session.begin():
        session.scalars(select(Ticket)).one().status = TicketStatus.CLOSED
    daemon.send(customer_mail(subject="Re: [ACME #1000]", message_id="<second@customer.example>"))
    old, new = tickets(daemon)
    assert old.status == TicketStatus.CLOSED
    assert new.linked_ticket_id == old.id


def test_same_message_twice_is_stored_once(daemon: DaemonThread, sink: Sink) -> None:
    raw = customer_mail(message_id="<dup@customer.example>")
    daemon.send(raw)
    daemon.send(raw)
    assert len(messages(daemon)) == 1
    assert len(tickets(daemon)) == 1
    assert len(outbox(daemon)) == 1


def test_message_without_message_id_deduplicated_by_content(daemon: DaemonThread) -> None:
    raw = b"From: ada@customer.example\r\nTo: support@example.com\r\nSubject: no id\r\n\r\nhi\r\n"
    daemon.send(raw)
    daemon.send(raw)
    assert len(messages(daemon)) == 1


def test_unknown_recipient_is_refused_and_nothing_stored(daemon: DaemonThread) -> None:
    with daemon.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("ada@customer.example", ["someone@elsewhere.example"], customer_mail())
    [(code, _)] = refused.value.recipients.values()
    assert code == 550
    assert messages(daemon) == []


def test_one_unknown_recipient_among_good_ones(daemon: DaemonThread) -> None:
    with daemon.smtp() as client:
        refused = client.sendmail(
            "ada@customer.example",
            ["support@example.com", "relay@elsewhere.example"],
            customer_mail(),
        )
    assert refused["relay@elsewhere.example"][0] == 550
    assert len(messages(daemon)) == 1


def test_message_to_two_mailboxes_opens_a_ticket_in_each(daemon: DaemonThread) -> None:
    daemon.send(customer_mail(), rcpt_tos=("support@example.com", "billing@example.com"))
    assert sorted(t.mailbox for t in tickets(daemon)) == [
        "billing@example.com",
        "support@example.com",
    ]


def test_long_line_is_accepted(daemon: DaemonThread) -> None:
    body = "see https://example.org/" + "x" * 5000 + "\n"
    raw = customer_mail(body=body).replace(
        b"Content-Transfer-Encoding: quoted-printable", b"Content-Transfer-Encoding: 8bit"
    )
    raw = raw.split(b"\n\n", 1)[0] + b"\n\n" + body.encode()
    assert max(len(line) for line in raw.splitlines()) > 5000
    assert daemon.send(raw) == {}
    [message] = messages(daemon)
    assert "x" * 5000 in message.body


def test_auto_reply_is_stored_without_acknowledgement(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(message_id="<first@customer.example>"))
    [ack] = sink.wait_for(1)
    daemon.send(
        customer_mail(
            subject="Automatic reply: Printer on fire",
            message_id="<ooo@customer.example>",
            in_reply_to=ack.message["Message-ID"],
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    [ticket] = tickets(daemon)
    _first, auto = messages(daemon)
    assert auto.ticket_id == ticket.id
    assert auto.kind == MessageKind.SYSTEM
    assert auto.automated == "auto-replied"
    assert len(outbox(daemon)) == 1


def test_auto_reply_that_threads_nowhere_is_not_acknowledged(
    daemon: DaemonThread, sink: Sink
) -> None:
    daemon.send(customer_mail(headers={"Auto-Submitted": "auto-generated"}))
    assert len(tickets(daemon)) == 1
    assert outbox(daemon) == []


def test_null_sender_is_never_acknowledged(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(), mail_from="")
    assert len(tickets(daemon)) == 1
    assert outbox(daemon) == []


def test_subject_with_template_syntax_is_echoed_literally(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(customer_mail(subject="Help {{ 7*7 }} {% raw %}"))
    [ack] = sink.wait_for(1)
    assert "{{ 7*7 }} {% raw %}" in ack.message["Subject"]
    assert "49" not in ack.message["Subject"]
    text = ack.message.get_body(("plain",)).get_content()
    assert "{{ 7*7 }}" in text


def test_subject_with_encoded_crlf_cannot_inject_a_header(daemon: DaemonThread, sink: Sink) -> None:
    raw = customer_mail(subject="placeholder").replace(
        b"Subject: placeholder",
        b"Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@evil.example=0D=0A=0D=0Abody?=",
    )
    daemon.send(raw)
    [ack] = sink.wait_for(1)
    assert ack.rcpt_tos == ("ada@customer.example",)
    header_block = ack.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block
    assert ack.message.get_all("Subject") and len(ack.message.get_all("Subject")) == 1
    assert ack.message["Bcc"] is None


def test_malformed_message_is_quarantined_and_accepted(
    daemon: DaemonThread, config_file, sink: Sink
) -> None:
    broken = (
        b"From: \xff\xfe\x80garbage\r\nTo: support@example.com\r\nSubject: \xc3\x28 bad\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="nowhere"\r\n\r\n'
        b"no boundary ever appears\r\n"
    )
    assert daemon.send(broken) == {}
    assert tickets(daemon) == []
    with daemon.runtime.sessions() as session:
        [held] = session.scalars(select(QuarantinedMessage)).all()
        assert held.raw == broken
    result = CliRunner().invoke(cli, ["-c", str(config_file), "quarantine", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert f'"id": {held.id}' in result.output
    assert outbox(daemon) == []


def test_attachment_is_stored_once_by_content(daemon: DaemonThread) -> None:
    from email.message import EmailMessage

    payload = bytes(range(256)) * 8
    for n in range(2):
        message = EmailMessage()
        message["From"], message["To"] = "ada@customer.example", "support@example.com"
        message["Subject"], message["Message-ID"] = "logs", f"<att{n}@customer.example>"
        message.set_content("attached")
        message.add_attachment(
            payload, maintype="application", subtype="octet-stream", filename="../../etc/passwd"
        )
        daemon.send(message.as_bytes())
    with daemon.runtime.sessions() as session:
        from storage.models import Attachment, Blob

        names = session.scalars(select(Attachment.filename)).all()
        blobs = session.scalar(select(func.count()).select_from(Blob))
    assert len(names) == 2 and all("/" not in name for name in names)
    assert blobs == 1


def test_concurrent_clients_store_every_message_once(daemon: DaemonThread, sink: Sink) -> None:
    per_client, clients = 25, 4
    errors: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with daemon.smtp() as smtp:
                for i in range(per_client):
                    smtp.sendmail(
                        f"c{n}-{i}@customer.example",
                        ["support@example.com"],
                        customer_mail(
                            sender=f"c{n}-{i}@customer.example",
                            message_id=f"<m{n}-{i}@customer.example>",
                        ),
                    )
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    stored = [m.message_id for m in messages(daemon)]
    assert len(stored) == per_client * clients
    assert len(set(stored)) == len(stored)
    numbers = [t.number for t in tickets(daemon)]
    assert numbers == list(range(1000, 1000 + per_client * clients))
    with daemon.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == len(stored)


def test_sender_address_needing_smtputf8_is_stored_without_acknowledgement(
    daemon: DaemonThread,
) -> None:
    raw = customer_mail(sender="x@customer.example").replace(
        b"From: x@customer.example", "From: Jörg <jörg@customer.example>".encode()
    )
    assert daemon.send(raw) == {}
    [ticket] = tickets(daemon)
    assert ticket.requester == "jörg@customer.example"
    assert outbox(daemon) == []
    with daemon.runtime.sessions() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["ticket.created", "acknowledgement.skipped"]
