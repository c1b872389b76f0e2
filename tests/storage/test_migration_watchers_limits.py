"""Migration 0016: the sender key of the tickets already stored (what the new-ticket limit
counts), and the tables of watchers and admin notices, on an upgrade and back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from storage.engine import DatabaseSettings, create_database_engine
from storage.schema import alembic_config

REQUESTERS = {
    1000: "ada@customer.example",
    1001: "ada+shop@customer.example",
    1002: "bob+a+b@customer.example",
    1003: "carol@customer.example",
}


def _old_ticket(connection, number: int, requester: str) -> None:
    at = "2026-03-01 09:00:00" + ("" if connection.dialect.name == "sqlite" else "+00:00")
    connection.execute(
        text(
            "INSERT INTO tickets (number, token, mailbox, subject, status, priority, requester,"
            " requester_name, created_at, updated_at) VALUES (:number, :token, 'support@"
            "example.com', 'old', 'open', 'medium', :requester, '', :at, :at)"
        ),
        {"number": number, "token": f"token{number}", "requester": requester, "at": at},
    )


def test_upgrade_keys_every_ticket_by_its_sender_and_downgrades(database_url: str) -> None:
    engine: Engine = create_database_engine(DatabaseSettings(database_url))
    try:
        command.upgrade(alembic_config(engine), "0015")
        with engine.begin() as connection:
            for number, requester in REQUESTERS.items():
                _old_ticket(connection, number, requester)
        command.upgrade(alembic_config(engine), "0016")
        with engine.connect() as connection:
            keys = dict(connection.execute(text("SELECT number, requester_key FROM tickets")).all())
        assert keys == {
            1000: "ada@customer.example",
            1001: "ada@customer.example",
            1002: "bob@customer.example",
            1003: "carol@customer.example",
        }
        assert {"watchers", "admin_notices"} <= set(inspect(engine).get_table_names())
        command.downgrade(alembic_config(engine), "0015")
        tables = inspect(engine)
        assert "watchers" not in tables.get_table_names()
        assert "requester_key" not in {c["name"] for c in tables.get_columns("tickets")}
        command.upgrade(alembic_config(engine), "head")
    finally:
        engine.dispose()
