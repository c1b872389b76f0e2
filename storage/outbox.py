"""The outbox table: rows queued in the caller's transaction, claimed and finished by the
worker, counted by the limits on automatic mail.

``outbound.outbox`` decides what to send and when to try again; this module only reads and
writes rows. Claiming takes due rows ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one
writer) and leases them by moving ``next_attempt_at`` ahead, so two workers never send one
row at the same time. Statements are built once; values are passed at execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload

from storage.models import OutboxMessage, OutboxStatus, Ticket, stored_instant

_outbox = OutboxMessage.__table__
_c = _outbox.c

_INSERT = insert(_outbox).returning(_c.id)

_DUE_WHERE = (_c.status == OutboxStatus.PENDING, _c.next_attempt_at <= bindparam("now"))
# Is anything due? Answered from the index ix_outbox_due (status, next_attempt_at) alone.
_ANY_DUE = select(_c.id).where(*_DUE_WHERE).limit(1)
# What the worker claims: due rows, oldest first (ix_outbox_due). The ticket's number is for
# the log (ids mean nothing to an operator): a subquery, not a join, so FOR UPDATE locks
# outbox rows only.
_DUE = (
    select(
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
    )
    .where(*_DUE_WHERE)
    .order_by(_c.next_attempt_at, _c.id)
    .limit(bindparam("limit", type_=Integer))
    .with_for_update(skip_locked=True)
)
_LEASE = (
    update(_outbox)
    .where(_c.id.in_(bindparam("ids", expanding=True)))
    .values(attempts=_c.attempts + 1, next_attempt_at=bindparam("until"))
)
# A row is still the claimer's while it is pending with the attempt count its claim left
# (any later claim counts another attempt).
_STILL_OURS = (_c.status == OutboxStatus.PENDING, _c.attempts == bindparam("claimed_attempts"))
_RENEW = (
    update(_outbox)
    .where(_c.id == bindparam("row_id"), *_STILL_OURS)
    .values(next_attempt_at=bindparam("until"))
)

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


def insert_message(
    executor: Connection | Session,
    *,
    ticket_id: int | None,
    kind: str,
    message_id: str,
    mail_from: str,
    recipients: Sequence[str],
    raw: bytes,
    now: datetime,
    automatic: bool,
    verp_id: str | None,
) -> int:
    """Insert a pending row, due at ``now``, in the caller's transaction; its id. A single
    Core INSERT rather than an ORM object: this runs on the intake hot path."""
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
    return connection.execute(_ANY_DUE, {"now": now}).first() is not None


def claim(connection: Connection, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due rows for one attempt each: counted, and not due again until
    ``now + lease``. Call inside a write transaction."""
    rows = connection.execute(_DUE, {"now": now, "limit": limit}).all()
    if not rows:
        return []
    connection.execute(_LEASE, {"ids": [row.id for row in rows], "until": now + lease})
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
        for row in rows
    ]


def finish(
    connection: Connection, item: Claimed, values: Mapping[str, Any], *, guarded: bool = True
) -> bool:
    """Write the outcome of ``item``'s attempt; whether the row took it. ``guarded``: only
    while the row is still as claimed; a message the relay took is recorded regardless."""
    statement = update(_outbox).where(_c.id == item.id)
    if guarded:
        statement = statement.where(*_STILL_OURS)
    result = connection.execute(
        statement.values(**values), {"claimed_attempts": item.attempts} if guarded else {}
    )
    return bool(result.rowcount)


def renew(connection: Connection, item: Claimed, until: datetime) -> bool:
    """Extend the lease of ``item`` to ``until``; False when it is no longer ours (its
    lease ran out and another worker claimed it)."""
    result = connection.execute(
        _RENEW, {"row_id": item.id, "claimed_attempts": item.attempts, "until": until}
    )
    return bool(result.rowcount)


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
