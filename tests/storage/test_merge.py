"""storage.merge: what ``#merge`` moves from one ticket to another."""

from __future__ import annotations

from sqlalchemy import Engine, select

from storage import watchers, workflow
from storage.merge import move_ticket_contents
from storage.models import Event, Message, Participant
from tests.storage.conftest import AT, add_message, add_ticket


def _people(connection, ticket_id: int) -> dict[str, str]:
    rows = connection.execute(
        select(Participant.address, Participant.role).where(Participant.ticket_id == ticket_id)
    )
    return {address: str(role) for address, role in rows}


def test_merge_moves_everything_and_the_requester_joins_as_cc(engine: Engine) -> None:
    with engine.begin() as connection:
        source = add_ticket(connection, 1000, "ada@customer.org", cc=("bob@customer.org",))
        target = add_ticket(connection, 1001, "carol@customer.org", cc=("bob@customer.org",))
        add_message(connection, source, "<a@x>")
        add_message(connection, source, "<b@x>")
        add_message(connection, target, "<c@x>")
        event = {"ticket_id": source, "at": AT, "actor": "system", "kind": "k", "data": {}}
        workflow.insert_events(connection, [event])

        moved = move_ticket_contents(connection, source, target)

        assert moved == {"messages": 2, "participants": 1}
        assert _people(connection, source) == {}
        assert _people(connection, target) == {
            "carol@customer.org": "requester",
            "bob@customer.org": "cc",  # once: the target's row stays
            "ada@customer.org": "cc",
        }
        on_target = select(Message.id).where(Message.ticket_id == target)
        assert len(connection.execute(on_target).all()) == 3
        events = select(Event.ticket_id).where(Event.kind == "k")
        assert connection.execute(events).scalars().all() == [target]


def test_merge_of_an_empty_ticket_moves_nothing(engine: Engine) -> None:
    with engine.begin() as connection:
        source = add_ticket(connection, 1000, "carol@customer.org")
        target = add_ticket(connection, 1001, "carol@customer.org")
        assert move_ticket_contents(connection, source, target) == {
            "messages": 0,
            "participants": 0,
        }
        assert _people(connection, target) == {"carol@customer.org": "requester"}


def test_merge_moves_the_watchers_once(engine: Engine) -> None:
    with engine.begin() as connection:
        source = add_ticket(connection, 1000, "ada@customer.org")
        target = add_ticket(connection, 1001, "carol@customer.org")
        for address in ("alice@example.com", "bob@example.com"):
            watchers.add_watcher(connection, source, address, AT)
        watchers.add_watcher(connection, target, "bob@example.com", AT)
        move_ticket_contents(connection, source, target)
        assert watchers.watchers(connection, source) == []
        assert sorted(watchers.watchers(connection, target)) == [
            "alice@example.com",
            "bob@example.com",
        ]
