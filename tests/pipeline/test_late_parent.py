"""Late parents in one transaction group: the reply and the mail it answers each in their
own SAVEPOINT of the same transaction, as the writer's group commit stores them."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import MessageParent
from tests.mails import customer_mail
from tests.pipeline.conftest import ADA, Desk

FIRST = "<first@customer.example>"


def test_a_late_parent_in_the_same_group_joins_the_replys_ticket(desk: Desk) -> None:
    desk.deliver(
        customer_mail(
            subject="Re: Printer on fire",
            message_id="<second@customer.example>",
            in_reply_to=FIRST,
            references=f"<old@customer.example> {FIRST}",
        )
    )
    desk.deliver(customer_mail(message_id=FIRST))

    [ticket] = desk.tickets()
    assert ticket.number == 1000 and ticket.requester == ADA
    assert [m.from_address for m in desk.messages()] == [ADA, ADA]
    assert len(desk.outbox("acknowledgement")) == 1
    assert "message.adopted_late_parent" in [kind for kind, *_ in desk.events()]


def test_our_own_message_ids_are_not_recorded_as_parents(desk: Desk) -> None:
    desk.deliver(customer_mail(message_id=FIRST))
    [(_, _, ack_id)] = desk.outbox("acknowledgement")
    desk.deliver(
        customer_mail(
            message_id="<second@customer.example>",
            in_reply_to=ack_id,
            references=f"{FIRST} {ack_id}",
        )
    )
    parents = desk.connection.execute(select(MessageParent.parent_message_id)).scalars().all()
    assert parents == [FIRST]
