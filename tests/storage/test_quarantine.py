"""storage.quarantine: a held message is found again by its bytes, released or re-held."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select

from storage import quarantine
from storage.models import QuarantinedMessage
from tests.storage.conftest import AT, add_ticket

RAW = b"Subject: who am I\r\n\r\nHi\r\n"
SHA = hashlib.sha256(RAW).hexdigest()


def _hold(connection, mailbox: str = "support@example.com") -> int:
    return quarantine.hold(
        connection,
        received_at=AT,
        source="smtp",
        mail_from="someone@x.org",
        recipients=("support@example.com",),
        mailbox=mailbox,
        error="no From",
        detail=None,
        raw=RAW,
        raw_sha256=SHA,
    )


def test_held_message_is_found_by_mailbox_and_hash_until_released(engine: Engine) -> None:
    with engine.begin() as connection:
        held = _hold(connection)
        assert quarantine.held_id(connection, "support@example.com", SHA) == held
        assert quarantine.held_id(connection, "billing@example.com", SHA) is None
        assert quarantine.held_id(connection, "support@example.com", "0" * 64) is None

        ticket_id = add_ticket(connection, 1000)
        quarantine.release(connection, held, ticket_id)
        assert quarantine.held_id(connection, "support@example.com", SHA) is None
        row = connection.execute(
            select(QuarantinedMessage.status, QuarantinedMessage.ticket_id)
        ).one()
        assert (str(row.status), row.ticket_id) == ("released", ticket_id)


def test_set_reason_keeps_it_held_with_the_new_reason(engine: Engine) -> None:
    with engine.begin() as connection:
        held = _hold(connection)
        assert quarantine.set_reason(connection, held, "still no From")
        assert not quarantine.set_reason(connection, held + 1, "nothing there")
        row = connection.execute(
            select(QuarantinedMessage.error, QuarantinedMessage.recipients)
        ).one()
        assert (row.error, row.recipients) == ("still no From", ["support@example.com"])
        assert quarantine.held_id(connection, "support@example.com", SHA) == held
