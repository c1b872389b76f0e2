"""The outbox table: rows queued in the caller's transaction, claimed and finished by the
worker, counted by the limits on automatic mail.

``outbound.outbox`` decides what to send and when to try again; this module only reads and
writes rows; claiming and leasing work as for webhook deliveries (``storage.work_queue``),
so two workers never send one row at the same time. Statements are built once; values are
passed at execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select
from sqlalchemy.orm import Session, selectinload

from storage.models import OutboxMessage, OutboxStatus, Ticket, stored_instant
from storage.work_queue import WorkQueue

_outbox = OutboxMessage.__table__
_c = _outbox.c

_INSERT = insert(_outbox).returning(_c.id)

# Claimed rows carry the ticket's number for the log (ids mean nothing to an operator): a
# subquery, not a join, so FOR UPDATE locks outbox rows only.
_QUEUE = WorkQueue(
    _outbox,
    OutboxStatus.PENDING,
    (
        _c.id,
        _c.ticket_id,
        _c.kind,
        _c.message_id,
        _c.mail_from,
        _c.recipients,
        _c.raw,
        _c.attempts,
        func.coalesce(_c.retried_at, _c.created_at).label("since"),
        select(Ticket.number)
        .where(Ticket.id == _c.ticket_id)
        .scalar_subquery()
        .label("ticket_number"),
    ),
)
_ANY_DUE = _QUEUE.any_due_query  # (ix_outbox_due)
_DUE = _QUEUE.due_query

_RECENT_AUTOMATIC = (
    select(func.count())
    .select_from(_outbox)
    .where(
        _c.primary_recipient == bindparam("address"),
        _c.automatic.is_(True),
        _c.created_at > bindparam("since"),
        _c.kind.in_(bindparam("kinds", expanding=True)),
    )
)
_RECENT_AUTOMATIC_TO_DOMAIN = (
    select(func.count())
    .select_from(_outbox)
    .where(
        _c.recipient_domain == bindparam("domain"),
        _c.automatic.is_(True),
        _c.created_at > bindparam("since"),
        _c.kind.in_(bindparam("kinds", expanding=True)),
    )
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row taken for one attempt."""

    id: int
    ticket_id: int | None
    kind: str
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int  # counting the one about to be made
    since: datetime  # when its series of attempts began: queued, or retried by hand
    ticket_number: int | None = None  # what logs name: the number an operator knows


def normalised_address(address: str) -> str:
    """The address as the limits on automatic mail count it: lower case, without the
    sub-address (``Victim+7@Target.example`` counts as ``victim@target.example``)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.partition('+')[0]}@{domain}"


def enqueue(
    executor: Connection | Session,
    *,
    ticket_id: int | None,
    kind: str,
    message_id: str,
    mail_from: str,
    recipients: Sequence[str],
    raw: bytes,
    now: datetime,
    automatic: bool = True,
    verp_id: str | None = None,
) -> int:
    """Insert a pending row, due at ``now``, in the caller's transaction; its id.

    A single Core INSERT rather than an ORM object: this runs on the intake hot path.
    Ticket mail goes through ``outbound.outbox.enqueue_each``, which gives each recipient a
    row and an envelope sender of its own.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime given as now")
    if not recipients:
        raise ValueError("an outbox message needs at least one recipient")
    values = {
        "ticket_id": ticket_id,
        "kind": kind,
        "automatic": automatic,
        "message_id": message_id,
        "mail_from": mail_from,
        "recipients": list(recipients),
        "primary_recipient": normalised_address(recipients[0]),
        "recipient_domain": recipients[0].strip().lower().rpartition("@")[2],
        "verp_id": verp_id,
        "raw": raw,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return executor.execute(_INSERT, values).scalar_one()


def automatic_sent_since(
    executor: Connection | Session, address: str, since: datetime, kinds: Sequence[str]
) -> int:
    """How many automatic messages of ``kinds`` to ``address`` (normalised: sub-addresses
    count as the address) were queued after ``since``: what the per-address limit
    (invariant 3) counts, a guard against loops with auto-responders that do not mark their
    replies."""
    return executor.execute(
        _RECENT_AUTOMATIC,
        {"address": normalised_address(address), "since": since, "kinds": list(kinds)},
    ).scalar_one()


def automatic_sent_to_domain_since(
    executor: Connection | Session, domain: str, since: datetime, kinds: Sequence[str]
) -> int:
    """How many automatic messages of ``kinds`` to addresses at ``domain`` were queued after
    ``since``."""
    return executor.execute(
        _RECENT_AUTOMATIC_TO_DOMAIN,
        {"domain": domain.strip().lower(), "since": since, "kinds": list(kinds)},
    ).scalar_one()


def any_due(connection: Connection, now: datetime) -> bool:
    """Whether a row is due at ``now``: a read, so a wake-up with nothing to send takes no
    lock."""
    return _QUEUE.any_due(connection, now)


def claim(connection: Connection, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due rows for one attempt each: counted, and not due again until
    ``now + lease``. Call inside a write transaction."""
    return [
        Claimed(
            id=row.id,
            ticket_id=row.ticket_id,
            kind=row.kind,
            message_id=row.message_id,
            mail_from=row.mail_from,
            recipients=tuple(row.recipients),
            raw=row.raw,
            attempts=row.attempts + 1,
            since=stored_instant(row.since),
            ticket_number=row.ticket_number,
        )
        for row in _QUEUE.claim(connection, now, now + lease, limit)
    ]


def finish(
    connection: Connection, item: Claimed, values: Mapping[str, Any], *, guarded: bool = True
) -> bool:
    """Write the outcome of ``item``'s attempt; whether the row took it. ``guarded``: only
    while the row is still as claimed; a message the relay took is recorded regardless."""
    return _QUEUE.finish(connection, item.id, item.attempts, values, guarded=guarded)


def renew(connection: Connection, item: Claimed, until: datetime) -> bool:
    """Extend the lease of ``item`` to ``until``; False when it is no longer ours."""
    return _QUEUE.renew(connection, item.id, item.attempts, until)


def outbox_rows(
    session: Session,
    statuses: Iterable[OutboxStatus] = (OutboxStatus.PENDING, OutboxStatus.DEAD),
    *,
    limit: int | None = None,
) -> list[OutboxMessage]:
    """Rows in ``statuses``, oldest first, with their ticket loaded (``raw`` is not)."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_([str(status) for status in statuses]))
        .order_by(OutboxMessage.id)
        .options(selectinload(OutboxMessage.ticket))
        .limit(limit)
    )
    return list(session.scalars(query))
