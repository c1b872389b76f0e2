"""The webhook deliveries table: queued in the caller's transaction, claimed by the worker,
finished, listed and retried from the console.

``maild.webhooks`` decides what to queue; ``outbound.webhooks`` sends. Claiming is the
outbox's (``storage.work_queue``): two workers never send one row at the same time, and a
worker killed mid-send leaves its rows to be sent again once the lease runs out.
Statements are built once; values are passed at execution.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, bindparam, insert, select, update

from storage.models import Ticket, WebhookDelivery, WebhookStatus
from storage.work_queue import WorkQueue

_deliveries = WebhookDelivery.__table__
_c = _deliveries.c
_tickets = Ticket.__table__

TICKET_FIELDS = (
    "number",
    "mailbox",
    "subject",
    "status",
    "priority",
    "category",
    "tags",
    "requester",
    "assignee",
    "team",
)
"""The columns of a ticket that a payload shows."""
_TICKET = select(*(_tickets.c[name] for name in TICKET_FIELDS)).where(
    _tickets.c.id == bindparam("ticket_id")
)

_INSERT = insert(_deliveries)

_QUEUE = WorkQueue(
    _deliveries,
    WebhookStatus.PENDING,
    (
        _c.id,
        _c.webhook,
        _c.event,
        _c.msg_id,
        _c.ticket_number,
        _c.payload,
        _c.attempts,
        _c.created_at,
        _c.retried_at,
    ),
)
_DUE = _QUEUE.due_query  # (ix_webhook_deliveries_due)
_ANY_DUE = _QUEUE.any_due_query
_LINES = select(
    _c.id,
    _c.webhook,
    _c.event,
    _c.msg_id,
    _c.ticket_number,
    _c.status,
    _c.attempts,
    _c.next_attempt_at,
    _c.last_error,
    _c.created_at,
    _c.delivered_at,
)
_STATUS = select(_c.status).where(_c.id == bindparam("delivery_id"))
_RETRY = (
    update(_deliveries)
    .where(_c.id == bindparam("delivery_id"))
    .values(
        status=WebhookStatus.PENDING,
        attempts=0,
        # Due whatever the clock of the daemon that sends it (a test's may lag this one).
        next_attempt_at=_c.created_at,
        retried_at=bindparam("now"),
    )
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery the worker holds for one attempt."""

    id: int
    webhook: str
    event: str
    msg_id: str
    ticket_number: int | None
    payload: str
    attempts: int  # counting the one about to be made
    since: datetime  # when this series of attempts began: queued, or retried by hand


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    """A delivery as ``maild webhooks list`` shows it."""

    id: int
    webhook: str
    event: str
    msg_id: str
    ticket_number: int | None
    status: WebhookStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


def insert_deliveries(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue ``rows`` (``webhook``, ``event``, ``msg_id``, ``ticket_number``, ``payload``,
    ``created_at``), due at once, in the caller's transaction."""
    if not rows:
        return
    connection.execute(
        _INSERT,
        [
            {
                **row,
                "status": WebhookStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": row["created_at"],
            }
            for row in rows
        ],
    )


def ticket_fields(connection: Connection, ticket_id: int) -> dict[str, Any] | None:
    """:data:`TICKET_FIELDS` of a ticket as the transaction sees it; None if there is none."""
    row = connection.execute(_TICKET, {"ticket_id": ticket_id}).first()
    return None if row is None else dict(row._mapping)


def any_due(connection: Connection, now: datetime) -> bool:
    """Whether a delivery is due at ``now``: a read, so a wake-up with nothing to send
    takes no lock."""
    return _QUEUE.any_due(connection, now)


def claim(connection: Connection, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for one attempt each: counted, and not due
    again until ``now + lease``. Call inside a write transaction."""
    return [
        Claimed(
            id=row.id,
            webhook=row.webhook,
            event=row.event,
            msg_id=row.msg_id,
            ticket_number=row.ticket_number,
            payload=row.payload,
            attempts=row.attempts + 1,
            since=row.retried_at or row.created_at,
        )
        for row in _QUEUE.claim(connection, now, now + lease, limit)
    ]


def finish(
    connection: Connection, item: Claimed, values: Mapping[str, Any], *, guarded: bool = True
) -> None:
    """Write the outcome of ``item``'s attempt. ``guarded``: only while the row is still
    as claimed (pending, this attempt's count); a delivery that reached its receiver is
    recorded regardless."""
    _QUEUE.finish(connection, item.id, item.attempts, values, guarded=guarded)


def delivery_lines(
    connection: Connection,
    statuses: Iterable[WebhookStatus] = (WebhookStatus.PENDING, WebhookStatus.DEAD),
    *,
    limit: int | None = None,
) -> list[DeliveryLine]:
    """Deliveries in ``statuses``, newest first."""
    return [
        DeliveryLine(**{**row._mapping, "status": WebhookStatus(row.status)})
        for row in connection.execute(lines_query(statuses, limit))
    ]


def lines_query(statuses: Iterable[WebhookStatus], limit: int | None) -> Select[Any]:
    """What :func:`delivery_lines` runs (pending and dead ones by ix_webhook_deliveries_due)."""
    return (
        _LINES.where(_c.status.in_([str(status) for status in statuses]))
        .order_by(_c.id.desc())
        .limit(limit)
    )


def retry(connection: Connection, delivery_id: int, now: datetime) -> WebhookStatus | None:
    """Make a pending or dead delivery due at once, with a new series of attempts that
    began at ``now``; its status before (a delivered one is left alone), or None when there
    is no such delivery."""
    status = connection.execute(_STATUS, {"delivery_id": delivery_id}).scalar_one_or_none()
    if status is None:
        return None
    if status != WebhookStatus.DELIVERED:
        connection.execute(_RETRY, {"delivery_id": delivery_id, "now": now})
    return WebhookStatus(status)
