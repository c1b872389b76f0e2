"""Late parents: a mail that arrives after the reply that answers it.

MTAs deliver out of order (greylisting, retries, two MX hosts): a customer's second mail,
naming their first in In-Reply-To / References, may be stored first and open a ticket. When
the first then arrives it names nothing we know. So every stored customer mail records the
parents it names (:func:`record_parents`, one multi-row insert, only Message-IDs that are
not ours), and a mail about to open a ticket asks which ticket holds a reply naming its own
Message-ID (:func:`adopting_ticket`). Both are answered by indexes (invariant 8): the
lookup by ``ix_message_parents_parent_mailbox``, then the message, ticket and participant by
their keys.

Only a participant of that ticket is adopted (DECISIONS.md, "One secret, one rule for
joining a ticket"): a customer's Message-ID is no secret, so a stranger whose mail a stored
reply names opens a ticket of their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, bindparam, insert, select

from storage.models import Message, MessageParent, Participant, Ticket
from storage.tickets import TicketView, ticket_view

MAX_PARENTS = 20
"""How many of the nearest parents of one mail are recorded: a long References header
costs no more than this, and a late parent is nearly always the nearest."""

_parents, _messages = MessageParent.__table__, Message.__table__
_tickets, _participants = Ticket.__table__, Participant.__table__

_INSERT_PARENTS = insert(_parents)
_ADOPTING = (
    select(
        _parents.c.message_row_id,
        _tickets.c.id,
        _tickets.c.number,
        _tickets.c.token,
        _tickets.c.mailbox,
        _tickets.c.subject,
        _tickets.c.status,
        _tickets.c.requester,
    )
    .join(_messages, _messages.c.id == _parents.c.message_row_id)
    .join(_tickets, _tickets.c.id == _messages.c.ticket_id)
    .join(
        _participants,
        (_participants.c.ticket_id == _tickets.c.id)
        & (_participants.c.address == bindparam("sender")),
    )
    .where(
        _parents.c.parent_message_id == bindparam("message_id"),
        _parents.c.mailbox == bindparam("mailbox"),
    )
    .limit(MAX_PARENTS)
)


def record_parents(
    connection: Connection, row_id: int, mailbox: str, parent_ids: Iterable[str]
) -> None:
    """Record the parents the stored message ``row_id`` of ``mailbox`` names: the first
    :data:`MAX_PARENTS` of ``parent_ids``, each once."""
    parents = list(dict.fromkeys(parent_ids))[:MAX_PARENTS]
    if not parents:
        return
    connection.execute(
        _INSERT_PARENTS,
        [
            {"message_row_id": row_id, "parent_message_id": parent, "mailbox": mailbox}
            for parent in parents
        ],
    )


def adopting_ticket(
    connection: Connection, mailbox: str, message_id: str, sender: str
) -> TicketView | None:
    """The ticket of the earliest stored message in ``mailbox`` that names ``message_id`` as
    its parent and has ``sender`` among its participants; None when there is none."""
    if not message_id or not sender:
        return None
    rows = connection.execute(
        _ADOPTING, {"message_id": message_id, "mailbox": mailbox, "sender": sender}
    ).all()
    if not rows:
        return None
    return ticket_view(min(rows, key=lambda r: r.message_row_id))
