"""Query functions shared by the pipeline and the CLI; each does one lookup or one write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, bindparam, case, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Blob,
    Counter,
    Message,
    Participant,
    QuarantinedMessage,
    QuarantineStatus,
    Ticket,
    TicketStatus,
)

TICKET_COUNTER = "ticket"


_counters = Counter.__table__
_TAKE_NUMBER = (
    update(_counters)
    .where(_counters.c.name == TICKET_COUNTER)
    .values(
        value=case(
            (_counters.c.value + 1 > bindparam("first"), _counters.c.value + 1),
            else_=bindparam("first"),
        )
    )
    .returning(_counters.c.value)
)


def next_ticket_number(connection: Connection, first_number: int) -> int:
    """Take the next ticket number; the row lock serialises concurrent writers."""
    number = connection.execute(_TAKE_NUMBER, {"first": first_number}).scalar()
    if number is None:
        connection.execute(insert(_counters), {"name": TICKET_COUNTER, "value": first_number})
        number = first_number
    return number


def message_exists(session: Session, mailbox: str, dedup_key: str) -> Message | None:
    return session.scalar(
        select(Message).where(Message.mailbox == mailbox, Message.dedup_key == dedup_key)
    )


def ticket_by_stored_message_id(
    session: Session, mailbox: str, message_ids: Sequence[str]
) -> Ticket | None:
    """The ticket of a message we stored whose Message-ID is one of ``message_ids``.

    ``message_ids`` is ordered nearest first; the nearest match wins.
    """
    if not message_ids:
        return None
    rows = session.execute(
        select(Message.message_id, Message.ticket_id).where(
            Message.message_id.in_(message_ids), Message.mailbox == mailbox
        )
    ).all()
    if not rows:
        return None
    by_id = {message_id: ticket_id for message_id, ticket_id in rows}
    for message_id in message_ids:
        if message_id in by_id:
            return session.get(Ticket, by_id[message_id])
    return None


def ticket_by_token(session: Session, tokens: Iterable[str]) -> Ticket | None:
    wanted = list(dict.fromkeys(tokens))
    if not wanted:
        return None
    return session.scalars(select(Ticket).where(Ticket.token.in_(wanted)).limit(1)).first()


def ticket_by_number(session: Session, number: int) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))


def participant(session: Session, ticket_id: int, address: str) -> Participant | None:
    return session.scalar(
        select(Participant).where(
            Participant.ticket_id == ticket_id, Participant.address == address.lower()
        )
    )


def store_blob(connection: Connection, sha256: str, data: bytes) -> None:
    """Insert content-addressed bytes once; a second writer of the same bytes is a no-op."""
    values = {"sha256": sha256, "size": len(data), "data": data}
    dialect = connection.dialect.name
    if dialect == "sqlite":
        statement = sqlite_insert(Blob).on_conflict_do_nothing()
    elif dialect == "postgresql":
        statement = pg_insert(Blob).on_conflict_do_nothing()
    else:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no content-addressed insert for {dialect}")
    connection.execute(statement, values)


def list_tickets(session: Session, status: TicketStatus | None = None) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.number)
    if status is not None:
        query = query.where(Ticket.status == status)
    return list(session.scalars(query))


def count_tickets(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


def quarantined(
    session: Session, status: QuarantineStatus | None = QuarantineStatus.HELD
) -> list[QuarantinedMessage]:
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id)
    if status is not None:
        query = query.where(QuarantinedMessage.status == status)
    return list(session.scalars(query))
