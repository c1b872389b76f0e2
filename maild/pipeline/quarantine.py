"""Quarantine: a message the pipeline cannot process is kept raw, with the reason.

Storing it is what lets the source acknowledge it (invariant 1): nothing is dropped, and a
human can retry it with ``maild quarantine retry`` once the cause is fixed.
"""

from __future__ import annotations

import hashlib
import traceback
from datetime import datetime

from sqlalchemy import Connection

from maild.pipeline.delivery import Delivery
from storage import quarantine as held


def quarantine(
    connection: Connection,
    delivery: Delivery,
    mailbox: str,
    reason: str,
    now: datetime,
    error: BaseException | None = None,
) -> int:
    """Store the raw message with ``reason`` (and the traceback of an unexpected error)."""
    detail = "".join(traceback.format_exception(error)) if error is not None else None
    return held.hold(
        connection,
        received_at=now,
        source=delivery.source,
        mail_from=delivery.mail_from,
        recipients=delivery.rcpt_tos,
        mailbox=mailbox,
        error=reason,
        detail=detail,
        raw=delivery.raw,
        raw_sha256=raw_sha256(delivery.raw),
    )


def raw_sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def find_held(connection: Connection, mailbox: str, raw: bytes) -> int | None:
    """The message already held for ``mailbox`` with exactly these bytes, if any.

    A source that hands the same message in again (an MTA retry, an import run again, an
    IMAP message whose move failed) finds it here, so quarantine too stores nothing twice
    (invariant 2). Found by the SHA-256 of the bytes, as intake finds a stored message
    without a Message-ID: comparing the bytes of every held message of the same length
    grew with what was held.
    """
    return held.held_id(connection, mailbox, raw_sha256(raw))


def mark_released(connection: Connection, quarantine_id: int, ticket_id: int) -> None:
    held.release(connection, quarantine_id, ticket_id)


def update_reason(connection: Connection, quarantine_id: int, reason: str) -> bool:
    """A retried message failed again: keep it held with the new reason."""
    return held.set_reason(connection, quarantine_id, reason)
