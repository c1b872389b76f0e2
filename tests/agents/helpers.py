"""Reading back what maild did: tickets, messages, events, the outbox and the sink."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Event, Message, OutboxMessage, QuarantinedMessage, Ticket
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink, eventually

ADA = "ada@customer.example"


def open_ticket(
    daemon: DaemonThread,
    *,
    subject: str = "Printer on fire",
    message_id: str = "<first@customer.example>",
    to: str = "support@example.com",
) -> Ticket:
    """A customer's first mail; the ticket it opened."""
    daemon.send(
        customer_mail(subject=subject, message_id=message_id, to=to),
        mail_from=ADA,
        rcpt_tos=(to,),
    )
    return tickets(daemon)[-1]


def tickets(daemon: DaemonThread) -> list[Ticket]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Ticket).order_by(Ticket.number)))


def ticket(daemon: DaemonThread, number: int) -> Ticket:
    with daemon.runtime.sessions() as session:
        found = session.scalars(select(Ticket).where(Ticket.number == number)).one()
        session.expunge(found)
        return found


def messages(daemon: DaemonThread, number: int | None = None) -> list[Message]:
    with daemon.runtime.sessions() as session:
        query = select(Message).order_by(Message.id)
        if number is not None:
            query = query.join(Ticket, Ticket.id == Message.ticket_id).where(
                Ticket.number == number
            )
        return list(session.scalars(query))


def events(daemon: DaemonThread, number: int) -> list[Event]:
    with daemon.runtime.sessions() as session:
        return list(
            session.scalars(
                select(Event)
                .join(Ticket, Ticket.id == Event.ticket_id)
                .where(Ticket.number == number)
                .order_by(Event.id)
            )
        )


def outbox(daemon: DaemonThread, kind: str | None = None) -> list[OutboxMessage]:
    with daemon.runtime.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(session.scalars(query))


def held(daemon: DaemonThread) -> list[QuarantinedMessage]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(QuarantinedMessage).order_by(QuarantinedMessage.id)))


def sent_to(sink: Sink, address: str, count: int) -> list[Received]:
    """The messages the sink got for ``address``, once there are ``count`` of them."""

    def mine() -> list[Received]:
        return [r for r in sink.received if address in r.rcpt_tos]

    assert eventually(lambda: len(mine()) >= count), [r.rcpt_tos for r in sink.received]
    return mine()


def send_as_agent(daemon: DaemonThread, raw: bytes, to: str, sender: str = "alice@example.com"):
    return daemon.send(raw, mail_from=sender, rcpt_tos=(to,))
