"""A migrated, empty database for the storage query functions, and rows to put in it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from maild.runtime import open_engine
from storage import tickets
from storage.models import MessageKind, ParticipantRole, TicketStatus
from storage.schema import ensure_current
from tests.conftest import make_config

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path, database_url: str) -> Iterator[Engine]:
    engine = open_engine(make_config(tmp_path, database_url))
    ensure_current(engine)
    yield engine
    engine.dispose()


def add_ticket(
    connection: Connection,
    number: int,
    requester: str = "carol@customer.org",
    *,
    cc: tuple[str, ...] = (),
    **values: Any,
) -> int:
    """A ticket numbered ``number`` with its requester (and Cc participants); its id."""
    row = {
        "number": number,
        "token": f"token{number}",
        "mailbox": "support@example.com",
        "subject": f"ticket {number}",
        "status": TicketStatus.OPEN,
        "priority": "medium",
        "requester": requester,
        "requester_name": "",
        "created_at": AT,
        "updated_at": AT,
        **values,
    }
    ticket_id = tickets.insert_ticket(connection, **row)
    people = [(requester, "", ParticipantRole.REQUESTER)]
    people += [(address, "", ParticipantRole.CC) for address in cc]
    tickets.insert_participants(connection, ticket_id, people)
    return ticket_id


def add_message(connection: Connection, ticket_id: int, dedup_key: str) -> int:
    return tickets.insert_message(
        connection,
        ticket_id=ticket_id,
        kind=MessageKind.CUSTOMER,
        mailbox="support@example.com",
        dedup_key=dedup_key,
        message_id=dedup_key,
        from_address="carol@customer.org",
        from_name="",
        subject="hello",
        body="hello",
        reply_text="hello",
        automated=None,
        raw=b"",
        sent_at=None,
        created_at=AT,
    )
