"""What assignment reads and writes: the agents' workloads and round robin's position."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, case, func, insert, select, update

from storage.models import AssignmentCursor, Ticket, TicketStatus

_tickets, _cursors = Ticket.__table__, AssignmentCursor.__table__

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)
"""The statuses that count towards an agent's workload."""

_open_count = func.sum(
    case((_tickets.c.status.in_([status.value for status in OPEN_STATUSES]), 1), else_=0)
)
_WORKLOADS = (
    select(_tickets.c.assignee, _open_count, func.max(_tickets.c.assigned_at))
    .where(_tickets.c.assignee.in_(bindparam("agents", expanding=True)))
    .group_by(_tickets.c.assignee)
)
# FOR UPDATE (PostgreSQL; SQLite has one writer anyway): two instances assigning at once
# would both read the same position and give two tickets the same turn. The row stays
# locked until the assignment commits, and the second reads the position the first wrote.
_POSITION = select(_cursors.c.position).where(_cursors.c.team == bindparam("key")).with_for_update()
_MOVE_CURSOR = (
    update(_cursors)
    .where(_cursors.c.team == bindparam("key"))
    .values(position=bindparam("new_position"))
)
_NEW_CURSOR = insert(_cursors)


def workloads(
    connection: Connection, addresses: Iterable[str]
) -> dict[str, tuple[int, datetime | None]]:
    """Each agent's open tickets (new, open, pending) and last assignment, in one grouped
    query over their tickets; agents with no ticket at all are left out."""
    wanted = sorted(set(addresses))
    if not wanted:
        return {}
    rows = connection.execute(_WORKLOADS, {"agents": wanted})
    return {assignee: (int(count or 0), last) for assignee, count, last in rows}


def round_robin_position(connection: Connection, key: str) -> int | None:
    """Where round robin stopped for ``key`` (a team, "" for all agents); None: never ran.
    The row is locked until the caller's transaction ends (see ``_POSITION``)."""
    return connection.execute(_POSITION, {"key": key}).scalar_one_or_none()


def save_round_robin_position(connection: Connection, key: str, position: int) -> None:
    """Insert or update the round-robin position of ``key``."""
    done = connection.execute(_MOVE_CURSOR, {"key": key, "new_position": position})
    if done.rowcount == 0:
        connection.execute(_NEW_CURSOR, {"team": key, "position": position})
