"""The ticket-number counter and the content-addressed blob store, shared by every writer;
and the console's ORM reads (moving to ``storage.console``)."""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, case, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import (
    Blob,
    Counter,
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


def ticket_by_number(session: Session, number: int) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))


_STORE_BLOB = {
    "sqlite": sqlite_insert(Blob).on_conflict_do_nothing(),
    "postgresql": pg_insert(Blob).on_conflict_do_nothing(),
}


def store_blob(connection: Connection, sha256: str, data: bytes) -> None:
    """Insert content-addressed bytes once; a second writer of the same bytes is a no-op."""
    statement = _STORE_BLOB.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no content-addressed insert for {connection.dialect.name}")
    connection.execute(statement, {"sha256": sha256, "size": len(data), "data": data})


def list_tickets(session: Session, status: TicketStatus | None = None) -> list[Ticket]:
    query = select(Ticket).order_by(Ticket.number)
    if status is not None:
        query = query.where(Ticket.status == status)
    return list(session.scalars(query))


def quarantined(
    session: Session, status: QuarantineStatus | None = QuarantineStatus.HELD
) -> list[QuarantinedMessage]:
    query = select(QuarantinedMessage).order_by(QuarantinedMessage.id)
    if status is not None:
        query = query.where(QuarantinedMessage.status == status)
    return list(session.scalars(query))
