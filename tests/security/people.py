"""Reading a ticket's participants back from the daemon's database."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import Participant, Ticket
from tests.support import DaemonThread


def participants(daemon: DaemonThread, number: int) -> dict[str, Participant]:
    with daemon.runtime.sessions() as session:
        rows = session.scalars(
            select(Participant)
            .join(Ticket, Ticket.id == Participant.ticket_id)
            .where(Ticket.number == number)
            .order_by(Participant.id)
        ).all()
        return {row.address: row for row in rows}
