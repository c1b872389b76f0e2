"""Which instance reads an IMAP folder: a lease row per folder (DECISIONS "Several
instances": an IMAP account is read by one instance at a time).

A poller takes the lease, or renews it, before every check of its folder; a poller that finds
another holder's lease running waits. The row is taken over when it has expired (its holder
died, or lost the database) or was given up at a clean stop. Every statement is one short
write transaction of the caller's; the conditions are in the UPDATE itself, so two instances
racing for an expired lease cannot both win (PostgreSQL re-checks the WHERE of the update
that waited for the other's row; SQLite has one writer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, case, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.imap_state import FolderKey
from storage.models import ImapLease

# RETURNING tells whether the row went in (a cursor's rowcount does not, with RETURNING).
_INSERT_NEW = {
    "sqlite": sqlite_insert(ImapLease).on_conflict_do_nothing().returning(ImapLease.id),
    "postgresql": pg_insert(ImapLease).on_conflict_do_nothing().returning(ImapLease.id),
}


@dataclass(frozen=True, slots=True)
class Lease:
    holder: str
    acquired_at: datetime
    expires_at: datetime


def _where(key: FolderKey) -> ColumnElement[bool]:
    return (
        (ImapLease.server == key.server)
        & (ImapLease.username == key.username)
        & (ImapLease.folder == key.folder)
    )


def take_lease(
    connection: Connection, key: FolderKey, holder: str, now: datetime, length: timedelta
) -> bool:
    """Take the lease of ``key`` for ``holder`` until ``now + length``, or renew it: True
    when it is ``holder``'s now, False while another holder's lease runs."""
    until = now + length
    renewed = connection.execute(
        update(ImapLease)
        .where(_where(key), or_(ImapLease.holder == holder, ImapLease.expires_at <= now))
        .values(
            account=key.account,
            acquired_at=case(
                (ImapLease.holder == holder, ImapLease.acquired_at),
                else_=literal(now, ImapLease.acquired_at.type),
            ),
            holder=holder,
            expires_at=until,
        )
    )
    if renewed.rowcount:
        return True
    statement = _INSERT_NEW.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no insert-if-absent for {connection.dialect.name}")
    inserted = connection.execute(
        statement,
        {
            "account": key.account,
            "server": key.server,
            "username": key.username,
            "folder": key.folder,
            "holder": holder,
            "acquired_at": now,
            "expires_at": until,
        },
    )
    return inserted.scalar_one_or_none() is not None


def release_lease(connection: Connection, key: FolderKey, holder: str, now: datetime) -> bool:
    """Give the lease up at once (a clean stop), if ``holder`` still has it."""
    done = connection.execute(
        update(ImapLease)
        .where(_where(key), ImapLease.holder == holder, ImapLease.expires_at > now)
        .values(expires_at=now)
    )
    return bool(done.rowcount)


def current_lease(connection: Connection, key: FolderKey) -> Lease | None:
    """Who holds or last held the lease of ``key``, and until when."""
    row = connection.execute(
        select(ImapLease.holder, ImapLease.acquired_at, ImapLease.expires_at).where(_where(key))
    ).first()
    return Lease(row.holder, row.acquired_at, row.expires_at) if row else None
