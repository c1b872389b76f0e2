"""Full-text search over tickets with the database's own engine: SQLite FTS5 on the embedded
default, PostgreSQL ``tsvector`` with a GIN index (the ``simple`` configuration: the mail is
multilingual, no language's stemming or stop words).

One row per stored message in ``ticket_text``, keyed by the message's row id: its subject,
its reply text (without the quoted history) and the ticket's requester. Rows are only ever
added, in the intake transaction that stores the message
(:class:`~maild.pipeline.steps.index_text.IndexText`); migration 0012 builds them for the
messages stored before it. A ticket's rank is the best rank of its messages.

The table is created with raw DDL (an FTS5 virtual table has no model), so it is not in
``storage.models``: :func:`is_search_table` tells schema comparisons to leave it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select, text
from sqlalchemy.orm import Session

from storage.console import _SUMMARY_COLUMNS, TicketSummary, _summary
from storage.models import Ticket, TicketStatus

TABLE = "ticket_text"

# bm25() weights per column of the FTS5 table (ticket_id is unindexed): the subject counts
# most, then the reply text, then the requester's address.
_BM25 = "bm25(ticket_text, 0.0, 4.0, 1.0, 2.0)"

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE ticket_text USING fts5("
    "ticket_id UNINDEXED, subject, body, requester, "
    "tokenize = 'unicode61 remove_diacritics 2')",
)

POSTGRESQL_DDL = (
    "CREATE TABLE ticket_text ("
    "message_row_id integer PRIMARY KEY, "
    "ticket_id integer NOT NULL, "
    "document tsvector NOT NULL)",
    "CREATE INDEX ix_ticket_text_document ON ticket_text USING gin (document)",
    "CREATE INDEX ix_ticket_text_ticket_id ON ticket_text (ticket_id)",
)


def _pg_document(subject: str, body: str, requester: str) -> str:
    """The tsvector of one message, weighted: subject A, reply text B, requester C. The
    address is indexed whole (the ``simple`` parser keeps it one token) and by its local
    part and domain, so that either finds it."""
    return (
        f"setweight(to_tsvector('simple', coalesce({subject}, '')), 'A')"
        f" || setweight(to_tsvector('simple', coalesce({body}, '')), 'B')"
        f" || setweight(to_tsvector('simple', coalesce({requester}, '')"
        f" || ' ' || replace(coalesce({requester}, ''), '@', ' ')), 'C')"
    )


def _fill_statement(dialect: str, where: str) -> str:
    """INSERT … SELECT of the rows of the messages ``where`` selects (aliases m, t)."""
    if dialect == "postgresql":
        return (
            "INSERT INTO ticket_text (message_row_id, ticket_id, document) "
            "SELECT m.id, m.ticket_id, "
            f"{_pg_document('m.subject', 'm.reply_text', 't.requester')} "
            f"FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE {where} "
            "ON CONFLICT (message_row_id) DO NOTHING"
        )
    return (
        "INSERT OR IGNORE INTO ticket_text (rowid, ticket_id, subject, body, requester) "
        "SELECT m.id, m.ticket_id, m.subject, m.reply_text, t.requester "
        f"FROM messages m JOIN tickets t ON t.id = m.ticket_id WHERE {where}"
    )


def create(connection: Connection) -> None:
    """The search table, empty (migration 0012)."""
    ddl = POSTGRESQL_DDL if connection.dialect.name == "postgresql" else SQLITE_DDL
    for statement in ddl:
        connection.execute(text(statement))


def rebuild(connection: Connection) -> None:
    """Rows for every stored message not yet indexed (migration 0012, existing data)."""
    connection.execute(text(_fill_statement(connection.dialect.name, "1 = 1")))


def drop(connection: Connection) -> None:
    connection.execute(text("DROP TABLE IF EXISTS ticket_text"))


_INDEX_ONE = {
    dialect: text(_fill_statement(dialect, "m.id = :row_id"))
    for dialect in ("sqlite", "postgresql")
}


def index_message(connection: Connection, row_id: int) -> None:
    """The search row of message ``row_id`` (just stored), in the caller's transaction."""
    connection.execute(_INDEX_ONE[connection.dialect.name], {"row_id": row_id})


def is_search_table(name: str | None) -> bool:
    """``ticket_text`` and the shadow tables FTS5 keeps beside it (``ticket_text_data``, …)."""
    return name is not None and (name == TABLE or name.startswith(TABLE + "_"))


def fts5_query(query: str) -> str:
    """User input as an FTS5 query that cannot be a syntax error: each word a quoted phrase
    (quotes doubled), all of them required. Words without a letter or digit are dropped
    (``--``, ``"``: a phrase with no token)."""
    words = [word for word in query.split() if any(char.isalnum() for char in word)]
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


FILTER_COLUMNS = ("assignee", "team", "priority", "category", "requester", "mailbox")


def search_tickets(
    session: Session,
    query: str,
    statuses: Sequence[TicketStatus] = (),
    limit: int | None = 50,
    filters: Mapping[str, str] | None = None,
) -> list[TicketSummary]:
    """``maild tickets search``: the tickets whose messages match every word of ``query``,
    best first (ties: newest first); ``statuses`` empty means every status. ``filters``:
    equal matches on :data:`FILTER_COLUMNS` and ``tag`` (one of the ticket's tags), as
    ``tickets list`` takes them."""
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    params: dict[str, Any] = {}
    if postgresql:
        params["query"] = query
        hits = (
            "SELECT tt.ticket_id, max(ts_rank(tt.document, q.query)) AS score "
            "FROM ticket_text tt, plainto_tsquery('simple', :query) AS q(query) "
            "WHERE tt.document @@ q.query GROUP BY tt.ticket_id"
        )
        order = "hits.score DESC"
    else:
        params["query"] = fts5_query(query)
        if not params["query"]:
            return []
        # bm25() cannot be an aggregate's argument: each match's rank first, then the best
        # per ticket (a materialized CTE, which SQLite does not flatten into the GROUP BY).
        hits = (
            f"WITH matches AS MATERIALIZED (SELECT ticket_id, {_BM25} AS score "
            "FROM ticket_text WHERE ticket_text MATCH :query) "
            "SELECT ticket_id, min(score) AS score FROM matches GROUP BY ticket_id"
        )
        order = "hits.score"
    sql = f"WITH hits AS ({hits}) SELECT t.id FROM hits JOIN tickets t ON t.id = hits.ticket_id"
    conditions = []
    if statuses:
        conditions.append("t.status IN :statuses")
        params["statuses"] = [str(status) for status in statuses]
    for name, value in (filters or {}).items():
        if name in FILTER_COLUMNS:  # a fixed set of names: never text from the caller
            conditions.append(f"t.{name} = :filter_{name}")
            params[f"filter_{name}"] = value
        elif name == "tag":
            conditions.append("CAST(t.tags AS TEXT) LIKE :filter_tag")
            params["filter_tag"] = f'%"{value}"%'
        else:
            raise ValueError(f"no ticket filter {name!r}")
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    sql += f" ORDER BY {order}, t.number DESC"
    if limit:
        sql += " LIMIT :limit"
        params["limit"] = limit
    statement = text(sql)
    if statuses:
        statement = statement.bindparams(bindparam("statuses", expanding=True))
    ids = [row[0] for row in connection.execute(statement, params)]
    if not ids:
        return []
    rows = session.execute(select(Ticket.id, *_SUMMARY_COLUMNS).where(Ticket.id.in_(ids)))
    by_id = {row.id: _summary(row) for row in rows}
    return [by_id[ticket_id] for ticket_id in ids]
