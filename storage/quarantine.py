"""Quarantine as intake writes it: a held message, found again by its bytes, released or
held with a new reason. (The console's listings are in ``storage.console``.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Select, bindparam, insert, select, update

from storage.models import QuarantinedMessage, QuarantineStatus

_quarantine = QuarantinedMessage.__table__

_INSERT = insert(_quarantine).returning(_quarantine.c.id)
_RELEASE = (
    update(_quarantine)
    .where(_quarantine.c.id == bindparam("quarantine_id"))
    .values(status=QuarantineStatus.RELEASED, ticket_id=bindparam("released_to"))
)
_NEW_REASON = (
    update(_quarantine)
    .where(_quarantine.c.id == bindparam("quarantine_id"))
    .values(error=bindparam("reason"))
)


def hold(
    connection: Connection,
    *,
    received_at: datetime,
    source: str,
    mail_from: str,
    recipients: Sequence[str],
    mailbox: str,
    error: str,
    detail: str | None,
    raw: bytes,
    raw_sha256: str,
) -> int:
    """Store a message raw, held with the reason ``error``; its quarantine id."""
    values = {
        "received_at": received_at,
        "source": source,
        "mail_from": mail_from,
        "recipients": list(recipients),
        "mailbox": mailbox,
        "error": error,
        "detail": detail,
        "raw": raw,
        "raw_sha256": raw_sha256,
        "status": QuarantineStatus.HELD,
    }
    return connection.execute(_INSERT, values).scalar_one()


_HELD = (
    select(_quarantine.c.id)
    .where(
        _quarantine.c.mailbox == bindparam("mailbox"),
        _quarantine.c.raw_sha256 == bindparam("sha256"),
        _quarantine.c.status == QuarantineStatus.HELD,
    )
    .limit(1)
)


def held_query(mailbox: str, sha256: str) -> Select[tuple[int]]:
    """The statement :func:`held_id` runs, with its values: answered by the index
    ``ix_quarantine_held`` (mailbox, raw_sha256), however much is held (invariant 8)."""
    return _HELD.params(mailbox=mailbox, sha256=sha256)


def held_id(connection: Connection, mailbox: str, sha256: str) -> int | None:
    """The message held for ``mailbox`` whose raw bytes have this SHA-256, if any."""
    return connection.execute(_HELD, {"mailbox": mailbox, "sha256": sha256}).scalar()


def release(connection: Connection, quarantine_id: int, ticket_id: int) -> None:
    """A held message went through on a retry: released, with the ticket it is on."""
    connection.execute(_RELEASE, {"quarantine_id": quarantine_id, "released_to": ticket_id})


def set_reason(connection: Connection, quarantine_id: int, reason: str) -> bool:
    """A retried message failed again: keep it held with the new reason; False when there
    is no such quarantined message."""
    done = connection.execute(_NEW_REASON, {"quarantine_id": quarantine_id, "reason": reason})
    return done.rowcount > 0
