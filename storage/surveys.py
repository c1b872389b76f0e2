"""Satisfaction surveys: which tickets are due one, the one survey of a ticket, its rating."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, and_, bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import Message, MessageKind, Survey, Ticket, TicketStatus

_tickets, _surveys, _messages = Ticket.__table__, Survey.__table__, Message.__table__

# A person wrote to the ticket: a customer's message that is not automated mail.
_HAS_PERSON = exists().where(
    _messages.c.ticket_id == _tickets.c.id,
    _messages.c.kind == MessageKind.CUSTOMER,
    _messages.c.automated.is_(None),
)
_NO_SURVEY = ~exists().where(_surveys.c.ticket_id == _tickets.c.id)


def _due(column: str, statuses: tuple[TicketStatus, ...]) -> object:
    stamp = _tickets.c[column]
    return (
        select(_tickets.c.id)
        .where(
            stamp > bindparam("window_start"),
            stamp <= bindparam("due_before"),
            _tickets.c.status.in_([status.value for status in statuses]),
            _tickets.c.merged_into_id.is_(None),
            _NO_SURVEY,
            _HAS_PERSON,
        )
        .order_by(stamp)
        .limit(bindparam("limit", type_=Integer))
    )


_DUE = {
    # After resolution: still resolved, or closed since (auto-close) without a survey.
    "resolved": _due("resolved_at", (TicketStatus.RESOLVED, TicketStatus.CLOSED)),
    "closed": _due("closed_at", (TicketStatus.CLOSED,)),
}
_CLAIM = {
    "sqlite": sqlite_insert(_surveys).on_conflict_do_nothing().returning(_surveys.c.id),
    "postgresql": pg_insert(_surveys).on_conflict_do_nothing().returning(_surveys.c.id),
}
_BY_ID = (
    select(_surveys, _tickets.c.number, _tickets.c.token)
    .join(_tickets, _tickets.c.id == _surveys.c.ticket_id)
    .where(_surveys.c.id == bindparam("survey_id"))
)
_BY_TICKET = select(_surveys.c.id).where(_surveys.c.ticket_id == bindparam("ticket_id"))


def due_tickets(
    connection: Connection,
    after: str,
    *,
    due_before: datetime,
    window_start: datetime,
    limit: int = 500,
) -> list[int]:
    """Ids of tickets resolved (``after="resolved"``) or closed between ``window_start`` and
    ``due_before`` that have no survey yet, were not closed by a merge, and have mail a
    person wrote; oldest first. The window keeps a helpdesk that turns surveys on from
    surveying a year of history."""
    rows = connection.execute(
        _DUE[after],  # type: ignore[arg-type]
        {"due_before": due_before, "window_start": window_start, "limit": limit},
    )
    return [row.id for row in rows]


def claim(
    connection: Connection,
    ticket_id: int,
    *,
    now: datetime,
    scale: str,
    status: str,
    reason: str | None = None,
) -> int | None:
    """Record the ticket's survey; None when it has one already (another instance was
    first): the unique ticket_id makes each survey go out once."""
    statement = _CLAIM.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no conflict-safe insert for {connection.dialect.name}")
    values = {
        "ticket_id": ticket_id,
        "created_at": now,
        "status": status,
        "reason": reason,
        "scale": scale,
    }
    return connection.execute(statement, values).scalar()


def mark_skipped(connection: Connection, survey_id: int, reason: str) -> None:
    """The survey could not be sent (a bouncing address, the hourly limit): it stays
    recorded, so it is not tried again at every sweep."""
    connection.execute(
        update(_surveys).where(_surveys.c.id == survey_id).values(status="skipped", reason=reason)
    )


@dataclass(frozen=True, slots=True)
class SurveyState:
    id: int
    ticket_id: int
    ticket_number: int
    ticket_token: str
    created_at: datetime
    status: str
    scale: str
    rating: str | None
    comment: str | None
    first_rated_at: datetime | None
    rated_at: datetime | None


def survey(connection: Connection, survey_id: int) -> SurveyState | None:
    row = connection.execute(_BY_ID, {"survey_id": survey_id}).first()
    if row is None:
        return None
    return SurveyState(
        id=row.id,
        ticket_id=row.ticket_id,
        ticket_number=row.number,
        ticket_token=row.token,
        created_at=row.created_at,
        status=row.status,
        scale=row.scale,
        rating=row.rating,
        comment=row.comment,
        first_rated_at=row.first_rated_at,
        rated_at=row.rated_at,
    )


def survey_of_ticket(connection: Connection, ticket_id: int) -> int | None:
    return connection.execute(_BY_TICKET, {"ticket_id": ticket_id}).scalar()


def record_rating(
    connection: Connection,
    survey_id: int,
    *,
    rating: str,
    comment: str | None,
    now: datetime,
    via: str,
) -> None:
    """Store a rating (the first one sets ``first_rated_at``, from which a change is
    allowed for a while); a comment given before is kept when none comes with it."""
    values: dict[str, object] = {"rating": rating, "rated_at": now, "rated_via": via}
    if comment:
        values["comment"] = comment
    connection.execute(update(_surveys).where(_surveys.c.id == survey_id).values(**values))
    connection.execute(
        update(_surveys)
        .where(and_(_surveys.c.id == survey_id, _surveys.c.first_rated_at.is_(None)))
        .values(first_rated_at=now)
    )
