"""The watchers of a ticket (``#watch``): agents who get every notification of it.

Imports nothing of the project but ``storage``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import Watcher

_watchers = Watcher.__table__
# Served by the unique (ticket_id, address) index: one read per notice on the intake path.
_OF_TICKET = (
    select(_watchers.c.address)
    .where(_watchers.c.ticket_id == bindparam("ticket_id"))
    .order_by(_watchers.c.id)
)
_ADD = {
    "sqlite": sqlite_insert(_watchers).on_conflict_do_nothing().returning(_watchers.c.id),
    "postgresql": pg_insert(_watchers).on_conflict_do_nothing().returning(_watchers.c.id),
}
_REMOVE = delete(_watchers).where(
    _watchers.c.ticket_id == bindparam("ticket_id"), _watchers.c.address == bindparam("address")
)
_OF_TICKET_ROWS = select(_watchers.c.id, _watchers.c.address).where(
    _watchers.c.ticket_id == bindparam("ticket_id")
)
_MOVE = (
    update(_watchers).where(_watchers.c.id == bindparam("row")).values(ticket_id=bindparam("to"))
)
_DROP = delete(_watchers).where(_watchers.c.id == bindparam("row"))


def watchers(connection: Connection, ticket_id: int) -> list[str]:
    """The addresses watching the ticket, in the order they started."""
    return list(connection.execute(_OF_TICKET, {"ticket_id": ticket_id}).scalars())


def add_watcher(connection: Connection, ticket_id: int, address: str, now: datetime) -> bool:
    """``address`` watches the ticket from now; False when it already did."""
    statement = _ADD.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no conflict-safe insert for {connection.dialect.name}")
    values = {"ticket_id": ticket_id, "address": address.lower(), "created_at": now}
    return connection.execute(statement, values).first() is not None


def remove_watcher(connection: Connection, ticket_id: int, address: str) -> bool:
    """``address`` no longer watches the ticket; False when it did not."""
    removed = connection.execute(_REMOVE, {"ticket_id": ticket_id, "address": address.lower()})
    return removed.rowcount > 0


def move_watchers(connection: Connection, source_id: int, target_id: int) -> int:
    """The watchers of ``source_id`` watch ``target_id`` instead (a merge); how many moved.
    One who watches both is kept once."""
    on_target = set(watchers(connection, target_id))
    moved = 0
    for row in connection.execute(_OF_TICKET_ROWS, {"ticket_id": source_id}).all():
        if row.address in on_target:
            connection.execute(_DROP, {"row": row.id})
            continue
        connection.execute(_MOVE, {"row": row.id, "to": target_id})
        on_target.add(row.address)
        moved += 1
    return moved
