"""A message quarantined again is found by the SHA-256 of its bytes, through an index."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, select, text

from storage.models import QuarantinedMessage
from storage.quarantine import held_query
from tests.support import DaemonThread

# No From header: quarantined on every delivery.
NO_FROM = (
    b"To: support@example.com\r\nSubject: who am I\r\nMessage-ID: <anon@x.example>\r\n\r\nHi\r\n"
)


def query_plan(engine: Engine, statement) -> str:
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(row[-1]) for row in rows)
        connection.execute(text("SET enable_seqscan = off"))  # DECISIONS.md: plan tests on PG
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


def test_held_lookup_uses_the_hash_index(daemon: DaemonThread) -> None:
    plan = query_plan(daemon.runtime.engine, held_query("support@example.com", "0" * 64))
    if daemon.runtime.engine.dialect.name == "sqlite":
        # Both columns: on the mailbox alone every held message of the mailbox is read.
        assert any(
            f"INDEX {index} ({columns}mailbox=? AND raw_sha256=?)" in plan
            for index, columns in (
                ("ix_quarantine_held", ""),
                ("ix_quarantine_status", "status=? AND "),
            )
        ), plan
    else:
        assert "ix_quarantine_held" in plan or "ix_quarantine_status" in plan, plan


def test_same_bytes_quarantined_twice_are_one_row_with_their_hash(daemon: DaemonThread) -> None:
    assert daemon.send(NO_FROM) == {}
    assert daemon.send(NO_FROM) == {}  # the sending MTA's retry
    with daemon.runtime.sessions() as session:
        rows = session.scalars(select(QuarantinedMessage)).all()
        assert len(rows) == 1
        assert rows[0].raw_sha256 == hashlib.sha256(rows[0].raw).hexdigest()
