"""A late parent through real SMTP: the customer's reply is committed before the mail it
answers (MTAs deliver out of order). The parent goes on the reply's ticket when its sender
is a participant there (DECISIONS.md, "One secret, one rule for joining a ticket"); anyone
else's opens a ticket of its own."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Event, Message, OutboxMessage, Ticket
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

FIRST = "<first@customer.example>"
SECOND = "<second@customer.example>"


def rows(daemon: DaemonThread, model: type) -> list:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def reply_naming(parent: str, **values) -> bytes:
    return customer_mail(
        subject="Re: Printer on fire",
        body="Also, the toner smells.\n",
        message_id=SECOND,
        in_reply_to=parent,
        references=parent,
        **values,
    )


def test_reply_first_then_its_parent_make_one_ticket(daemon: DaemonThread, sink: Sink) -> None:
    assert daemon.send(reply_naming(FIRST)) == {}
    sink.wait_for(1)
    assert daemon.send(customer_mail(message_id=FIRST)) == {}

    [ticket] = rows(daemon, Ticket)
    assert ticket.subject == "Printer on fire" and ticket.requester == "ada@customer.example"
    assert [(m.ticket_id, m.message_id) for m in rows(daemon, Message)] == [
        (ticket.id, SECOND),
        (ticket.id, FIRST),
    ]
    [ack] = rows(daemon, OutboxMessage)  # the reply's ticket was acknowledged; once
    assert ack.kind == "acknowledgement"
    events = [(e.kind, e.data) for e in rows(daemon, Event)]
    assert ("message.adopted_late_parent", {"message_id": FIRST}) in events
    assert ("message.received", {"threaded_by": "late-parent"}) in events


def test_an_accepted_cc_late_parent_is_adopted(daemon: DaemonThread, sink: Sink) -> None:
    bobs = "<bob-first@partner.example>"
    daemon.send(reply_naming(bobs, headers={"Cc": "bob@partner.example"}))
    daemon.send(customer_mail(sender="Bob <bob@partner.example>", message_id=bobs))

    [ticket] = rows(daemon, Ticket)
    assert ticket.requester == "ada@customer.example"
    assert [m.from_address for m in rows(daemon, Message)] == [
        "ada@customer.example",
        "bob@partner.example",
    ]


def test_a_strangers_mail_named_by_a_stored_reply_opens_its_own_ticket(
    daemon: DaemonThread, sink: Sink
) -> None:
    named = "<mallory@elsewhere.example>"
    daemon.send(reply_naming(named))
    daemon.send(
        customer_mail(sender="Mallory <mallory@elsewhere.example>", message_id=named),
        mail_from="mallory@elsewhere.example",
    )

    adas, mallorys = rows(daemon, Ticket)
    assert (adas.requester, mallorys.requester) == (
        "ada@customer.example",
        "mallory@elsewhere.example",
    )
    assert [(m.ticket_id, m.message_id) for m in rows(daemon, Message)] == [
        (adas.id, SECOND),
        (mallorys.id, named),
    ]
    assert not [e for e in rows(daemon, Event) if e.kind == "message.adopted_late_parent"]


def test_an_automated_late_parent_is_not_adopted(daemon: DaemonThread, sink: Sink) -> None:
    daemon.send(reply_naming(FIRST))
    daemon.send(customer_mail(message_id=FIRST, headers={"Auto-Submitted": "auto-replied"}))

    assert len(rows(daemon, Ticket)) == 2
