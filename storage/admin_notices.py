"""Mail to the admins that must go out once: each carries a unique key in the database, so
two instances (or two mails of one group commit) never both send it.

Imports nothing of the project but ``storage``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.models import AdminNotice

_notices = AdminNotice.__table__
_CLAIM = {
    "sqlite": sqlite_insert(_notices).on_conflict_do_nothing().returning(_notices.c.id),
    "postgresql": pg_insert(_notices).on_conflict_do_nothing().returning(_notices.c.id),
}


def claim_notice(connection: Connection, key: str, now: datetime) -> bool:
    """Claim the sending of the notice ``key`` in the caller's transaction (write its mail
    in the same one): False when it was claimed before, here or by another instance."""
    statement = _CLAIM.get(connection.dialect.name)
    if statement is None:  # pragma: no cover - other databases are not supported targets
        raise NotImplementedError(f"no conflict-safe insert for {connection.dialect.name}")
    return connection.execute(statement, {"key": key, "created_at": now}).first() is not None
