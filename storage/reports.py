"""The queries behind ``maild report`` and the scheduled report mails: the tickets that
something happened to in a period, the events that count (reopenings, SLA breaches), the
ratings given, the backlog, and the claim that makes a scheduled report go out once.

Every query selects on one indexed time column (``created_at``, ``first_response_at``,
``resolved_at``, ``closed_at``, ``assigned_at``; events by ``(kind, at)``; surveys by
``rated_at``), so a month of a year's history reads a month of rows. The figures are
worked out by ``maild.reports`` from the plain values returned here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, String, and_, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import Event, ReportRun, Survey, Ticket, TicketStatus, stored_instant

_tickets, _events, _surveys, _runs = (
    Ticket.__table__,
    Event.__table__,
    Survey.__table__,
    ReportRun.__table__,
)

STAMPS = ("created_at", "first_response_at", "resolved_at", "closed_at", "assigned_at")
"""The ticket times a report attributes by: a ticket counts in a period when one of them
falls in it."""

_NO_PAUSES = ("[]", "null", "")
_OPEN = (TicketStatus.NEW.value, TicketStatus.OPEN.value, TicketStatus.PENDING.value)
_FINISHED = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)


@dataclass(frozen=True, slots=True)
class ReportTicket:
    """What a report needs of one ticket. ``resolver``: the assignee when it was resolved
    (the per-agent table credits them); ``sla_paused`` as stored (microsecond pairs)."""

    id: int
    number: int
    mailbox: str
    requester: str
    priority: str
    category: str | None
    team: str | None
    assignee: str | None
    resolver: str | None
    merged: bool
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    assigned_at: datetime | None
    sla_paused: tuple[tuple[int, int | None], ...]


@dataclass(frozen=True, slots=True)
class ReportRating:
    """One rating given in the period, with the ticket it rates."""

    ticket_id: int
    scale: str
    rating: str
    rated_at: datetime


@dataclass(frozen=True, slots=True)
class ReportEvent:
    ticket_id: int
    kind: str
    at: datetime


_TIMES = ("created_at", "first_response_at", "resolved_at", "closed_at", "assigned_at")


def _columns(as_text: bool) -> tuple[Any, ...]:
    """The columns of :class:`ReportTicket`; ``as_text``: times and pauses as stored
    (SQLite), parsed here in a fraction of what the column types cost on a year of rows."""

    def column(name: str) -> Any:
        found = _tickets.c[name]
        if as_text and (name in _TIMES or name == "sla_paused"):
            return type_coerce(found, String).label(name)
        return found

    names = (
        "id",
        "number",
        "mailbox",
        "requester",
        "priority",
        "category",
        "team",
        "assignee",
        "resolved_assignee",
        "merged_into_id",
        *_TIMES,
        "sla_paused",
    )
    return tuple(column(name) for name in names)


_COLUMNS = {False: _columns(False), True: _columns(True)}


def _pauses(stored: object) -> tuple[tuple[int, int | None], ...]:
    if isinstance(stored, str):
        stored = json.loads(stored) if stored not in _NO_PAUSES else None
    if not isinstance(stored, list):
        return ()
    return tuple(
        (int(pair[0]), None if pair[1] is None else int(pair[1]))
        for pair in stored
        if isinstance(pair, list) and len(pair) == 2 and pair[0] is not None
    )


def _ticket(row: Sequence[Any]) -> ReportTicket:
    return ReportTicket(
        id=row[0],
        number=row[1],
        mailbox=row[2],
        requester=row[3],
        priority=row[4],
        category=row[5],
        team=row[6],
        assignee=row[7],
        resolver=row[8],
        merged=row[9] is not None,
        created_at=stored_instant(row[10]),
        first_response_at=stored_instant(row[11]),
        resolved_at=stored_instant(row[12]),
        closed_at=stored_instant(row[13]),
        assigned_at=stored_instant(row[14]),
        sla_paused=_pauses(row[15]),
    )


def _as_text(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def tickets_query(
    stamp: str, since: datetime, until: datetime, as_text: bool = False
) -> Select[Any]:
    """Tickets whose ``stamp`` falls in ``[since, until)``: a range on that stamp's index."""
    column = _tickets.c[stamp]
    return select(*_COLUMNS[as_text]).where(column >= since, column < until)


def ids_query(stamp: str, since: datetime, until: datetime) -> Select[Any]:
    column = _tickets.c[stamp]
    return select(_tickets.c.id).where(column >= since, column < until)


def tickets_in(
    connection: Connection, since: datetime, until: datetime, stamps: Iterable[str] = STAMPS
) -> list[ReportTicket]:
    """Every ticket with one of ``stamps`` in ``[since, until)``, each once.

    One indexed range query per stamp rather than one ``OR`` across them: SQLite then reads
    each index for just the period, where an ``OR`` over five columns can fall back to
    reading every ticket."""
    as_text = _as_text(connection)
    found: dict[int, ReportTicket] = {}
    first, *others = stamps
    for row in connection.execute(tickets_query(first, since, until, as_text)):
        found[row[0]] = _ticket(row)
    # The other stamps mostly name tickets already read (a ticket created and resolved in
    # the period): their ids first, whole rows only for the new ones.
    wanted: set[int] = set()
    for stamp in others:
        wanted.update(row[0] for row in connection.execute(ids_query(stamp, since, until)))
    wanted -= found.keys()
    found.update((ticket.id, ticket) for ticket in tickets_by_id(connection, wanted))
    return sorted(found.values(), key=lambda ticket: ticket.number)


def backlog_queries(moment: datetime, as_text: bool = False) -> tuple[Select[Any], Select[Any]]:
    """The tickets open at ``moment``, in two parts that each read one index: those still
    open now (by status), and those resolved only after ``moment`` (by resolution time)."""
    created_before = _tickets.c.created_at < moment
    unmerged = _tickets.c.merged_into_id.is_(None)
    still_open = select(*_COLUMNS[as_text]).where(
        _tickets.c.status.in_(_OPEN),
        _tickets.c.resolved_at.is_(None),
        created_before,
        unmerged,
    )
    resolved_later = select(*_COLUMNS[as_text]).where(
        _tickets.c.resolved_at >= moment, created_before, unmerged
    )
    return still_open, resolved_later


def backlog_at(connection: Connection, moment: datetime) -> list[ReportTicket]:
    """The tickets open at ``moment``: created before it and not resolved by then (nor
    merged). A ticket resolved before ``moment`` and reopened since counts as open, as its
    earlier resolution time is no longer stored."""
    found: dict[int, ReportTicket] = {}
    for query in backlog_queries(moment, _as_text(connection)):
        for row in connection.execute(query):
            found.setdefault(row[0], _ticket(row))
    return list(found.values())


_REOPENED_FROM = list(_FINISHED)
_REOPENED_TO = list(_OPEN)


def events_query(kind: str, since: datetime, until: datetime) -> Select[Any]:
    """Events of ``kind`` in ``[since, until)`` (``ix_events_kind_at``). The kind
    ``ticket.reopened`` stands for a status change from resolved or closed to an open
    status, which is how a reopening is recorded."""
    if kind == "ticket.reopened":
        condition = and_(
            _events.c.kind == "status.changed",
            _events.c.data["from"].as_string().in_(_REOPENED_FROM),
            _events.c.data["to"].as_string().in_(_REOPENED_TO),
        )
    else:
        condition = _events.c.kind == kind
    return select(_events.c.ticket_id, _events.c.at).where(
        condition, _events.c.at >= since, _events.c.at < until
    )


def events_in(
    connection: Connection, since: datetime, until: datetime, kinds: Iterable[str]
) -> list[ReportEvent]:
    """Events of ``kinds`` in ``[since, until)`` (see :func:`events_query`)."""
    found: list[ReportEvent] = []
    for kind in kinds:
        rows = connection.execute(events_query(kind, since, until))
        found.extend(ReportEvent(row[0], kind, row[1]) for row in rows)
    return found


def ratings_query(since: datetime, until: datetime) -> Select[Any]:
    return select(
        _surveys.c.ticket_id, _surveys.c.scale, _surveys.c.rating, _surveys.c.rated_at
    ).where(
        _surveys.c.rating.is_not(None),
        _surveys.c.rated_at >= since,
        _surveys.c.rated_at < until,
    )


def ratings_in(connection: Connection, since: datetime, until: datetime) -> list[ReportRating]:
    """Ratings whose latest change falls in ``[since, until)``."""
    query = ratings_query(since, until)
    return [ReportRating(*row) for row in connection.execute(query)]


def tickets_by_id(connection: Connection, ids: Iterable[int]) -> list[ReportTicket]:
    """The tickets of ``ids`` (rated tickets resolved before the period)."""
    wanted = sorted(set(ids))
    found: list[ReportTicket] = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(*_COLUMNS[_as_text(connection)]).where(_tickets.c.id.in_(chunk))
        rows = connection.execute(query)
        found.extend(_ticket(row) for row in rows)
    return found


def claim_report_run(
    connection: Connection, name: str, period_start: datetime, now: datetime
) -> bool:
    """Claim the sending of report ``name`` for the period starting ``period_start``, in the
    caller's transaction: False when it was already claimed (by this instance on an earlier
    run, or by another instance on the same database)."""
    values = {"name": name, "period_start": period_start, "created_at": now}
    insert = pg_insert(_runs) if connection.dialect.name == "postgresql" else sqlite_insert(_runs)
    result = connection.execute(
        insert.values(**values).on_conflict_do_nothing().returning(_runs.c.id)
    )
    return result.first() is not None


def report_runs(connection: Connection, name: str) -> list[datetime]:
    """The periods report ``name`` was sent for, newest first."""
    query = (
        select(_runs.c.period_start)
        .where(_runs.c.name == name)
        .order_by(_runs.c.period_start.desc())
    )
    return [row[0] for row in connection.execute(query)]
