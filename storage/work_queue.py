"""A table of work that workers claim row by row: the outbox and the webhook deliveries.

Both tables have ``id``, ``status``, ``attempts`` and ``next_attempt_at``. A worker claims
due rows ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite has one writer) and leases them by
counting an attempt and moving ``next_attempt_at`` a lease ahead, so no other worker takes
them until the lease runs out. A row is still its claimer's while it is pending with the
attempt count the claim left: any later claim counts another attempt. One mechanism for
both tables, so that a fix to claiming reaches both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    Table,
    bindparam,
    select,
    update,
)


class WorkQueue:
    """The claiming statements of one table, built once; values are passed at execution.

    ``columns`` are what a claim returns of each row (``id`` and ``attempts`` among them);
    ``pending`` is the status of rows still to be worked on.
    """

    def __init__(self, table: Table, pending: str, columns: Sequence[Any]) -> None:
        c = table.c
        due_where = (c.status == pending, c.next_attempt_at <= bindparam("now"))
        self.table = table
        # Whether anything is due: a read answered from the (status, next_attempt_at)
        # index, so a wake-up with nothing to do takes no lock.
        self.any_due_query: Select[Any] = select(c.id).where(*due_where).limit(1)
        # What a claim takes: due rows, oldest first, skipping those another worker locks.
        self.due_query: Select[Any] = (
            select(*columns)
            .where(*due_where)
            .order_by(c.next_attempt_at, c.id)
            .limit(bindparam("limit", type_=Integer))
            .with_for_update(skip_locked=True)
        )
        self._lease = (
            update(table)
            .where(c.id.in_(bindparam("ids", expanding=True)))
            .values(attempts=c.attempts + 1, next_attempt_at=bindparam("until"))
        )
        self._still_claimed: tuple[ColumnElement[bool], ...] = (
            c.status == pending,
            c.attempts == bindparam("claimed_attempts"),
        )
        self._renew = (
            update(table)
            .where(c.id == bindparam("row_id"), *self._still_claimed)
            .values(next_attempt_at=bindparam("until"))
        )

    def any_due(self, connection: Connection, now: datetime) -> bool:
        return connection.execute(self.any_due_query, {"now": now}).first() is not None

    def claim(
        self, connection: Connection, now: datetime, until: datetime, limit: int
    ) -> Sequence[Row[Any]]:
        """Take up to ``limit`` rows due at ``now`` for one attempt each: counted, and not
        due again until ``until``. Call inside a write transaction."""
        rows = connection.execute(self.due_query, {"now": now, "limit": limit}).all()
        if rows:
            connection.execute(self._lease, {"ids": [row.id for row in rows], "until": until})
        return rows

    def finish(
        self,
        connection: Connection,
        row_id: int,
        claimed_attempts: int,
        values: Mapping[str, Any],
        *,
        guarded: bool = True,
    ) -> bool:
        """Write the outcome of an attempt; whether the row took it. ``guarded``: only while
        the row is still as its claim left it (work that reached the other side, a relay's
        ``250`` or a receiver's ``2xx``, is recorded regardless)."""
        c = self.table.c
        statement = update(self.table).where(c.id == row_id)
        params: dict[str, Any] = {}
        if guarded:
            statement = statement.where(*self._still_claimed)
            params["claimed_attempts"] = claimed_attempts
        return bool(connection.execute(statement.values(**values), params).rowcount)

    def renew(
        self, connection: Connection, row_id: int, claimed_attempts: int, until: datetime
    ) -> bool:
        """Extend a claimed row's lease to ``until``; False when it is no longer ours (its
        lease ran out and another worker claimed it)."""
        params = {"row_id": row_id, "claimed_attempts": claimed_attempts, "until": until}
        return bool(connection.execute(self._renew, params).rowcount)
