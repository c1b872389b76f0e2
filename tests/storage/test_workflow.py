"""storage.workflow: the ticket row as the editor reads and writes it, and its events."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from storage import workflow
from storage.models import Event, Participant, TicketStatus
from tests.storage.conftest import AT, add_ticket


def test_ticket_row_holds_every_record_column(engine: Engine) -> None:
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000, tags=["vip"], sla_paused=[[1, None]])
        row = workflow.ticket_row(connection, ticket_id)
        assert row is not None
        assert tuple(row) == workflow.RECORD_COLUMNS
        assert (row["number"], row["tags"], row["sla_paused"]) == (1000, ["vip"], [[1, None]])
        assert row["created_at"] == AT  # aware UTC on both databases
        assert workflow.ticket_row_by_number(connection, 1000) == row
        assert workflow.ticket_row(connection, ticket_id + 1) is None
        assert workflow.ticket_row_by_number(connection, 999) is None


def test_update_ticket_writes_only_the_columns_given(engine: Engine) -> None:
    later = AT + timedelta(hours=1)
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000)
        other = add_ticket(connection, 1001)
        workflow.update_ticket(
            connection,
            ticket_id,
            {"status": TicketStatus.PENDING, "sla_paused": [[5, None]], "updated_at": later},
        )
        workflow.update_ticket(connection, ticket_id, {})  # nothing to write
        row = workflow.ticket_row(connection, ticket_id)
        assert row is not None
        assert (row["status"], row["sla_paused"], row["updated_at"]) == (
            "pending",
            [[5, None]],
            later,
        )
        assert (row["priority"], row["subject"]) == ("medium", "ticket 1000")
        untouched = workflow.ticket_row(connection, other)
        assert untouched is not None and untouched["status"] == "open"


def test_touch_moves_only_updated_at(engine: Engine) -> None:
    later = AT + timedelta(minutes=3)
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000)
        before = workflow.ticket_row(connection, ticket_id)
        workflow.touch_ticket(connection, ticket_id, later)
        after = workflow.ticket_row(connection, ticket_id)
    assert before is not None and after is not None
    assert after["updated_at"] == later
    assert {**after, "updated_at": AT} == before


def test_events_are_stored_in_the_order_given(engine: Engine) -> None:
    kinds = ["participant.added", "status.changed", "message.received", "tags.changed"]
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000)
        workflow.insert_events(connection, [])
        workflow.insert_events(
            connection,
            [
                {"ticket_id": ticket_id, "at": AT, "actor": "system", "kind": kind, "data": {}}
                for kind in kinds
            ],
        )
        stored = connection.execute(
            select(Event.kind).where(Event.ticket_id == ticket_id).order_by(Event.id)
        ).scalars()
        assert list(stored) == kinds


def test_remove_cc_takes_off_only_a_cc(engine: Engine) -> None:
    with engine.begin() as connection:
        ticket_id = add_ticket(connection, 1000, cc=("bob@customer.org",))
        assert not workflow.remove_cc(connection, ticket_id, "carol@customer.org")  # requester
        assert not workflow.remove_cc(connection, ticket_id, "nobody@customer.org")
        assert workflow.remove_cc(connection, ticket_id, "bob@customer.org")
        assert not workflow.remove_cc(connection, ticket_id, "bob@customer.org")
        left = connection.execute(
            select(Participant.address).where(Participant.ticket_id == ticket_id)
        ).scalars()
        assert list(left) == ["carol@customer.org"]


def test_merged_into_and_the_row_lock(engine: Engine) -> None:
    with engine.begin() as connection:
        target = add_ticket(connection, 1001)
        source = add_ticket(connection, 1000, merged_into_id=target)
        workflow.lock_ticket(connection, source)  # FOR UPDATE on PostgreSQL, nothing on SQLite
        assert workflow.merged_into(connection, source) == target
        assert workflow.merged_into(connection, target) is None
