"""A migrated database with one ticket, for the ticket-work modules."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from maild.runtime import open_engine
from maild.ticketing.record import TicketRecord, load_ticket
from storage import tickets
from storage.models import ParticipantRole, TicketStatus
from storage.schema import ensure_current
from tests.conftest import make_config

CREATED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN = "abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def engine(tmp_path, database_url: str) -> Iterator[Engine]:
    engine = open_engine(make_config(tmp_path, database_url))
    ensure_current(engine)
    yield engine
    engine.dispose()


def new_ticket(engine: Engine, number: int = 1000, token: str = TOKEN) -> TicketRecord:
    with engine.begin() as connection:
        ticket_id = tickets.insert_ticket(
            connection,
            number=number,
            token=token,
            mailbox="support@example.com",
            subject="Printer on fire",
            status=TicketStatus.NEW,
            priority="medium",
            requester="carol@customer.org",
            requester_name="Carol",
            created_at=CREATED,
            updated_at=CREATED,
        )
        tickets.insert_participants(
            connection, ticket_id, [("carol@customer.org", "Carol", ParticipantRole.REQUESTER)]
        )
        return load_ticket(connection, ticket_id)
