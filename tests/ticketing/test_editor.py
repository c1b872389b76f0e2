"""TicketEditor: every change is written with its event, and the workflow's side effects
(SLA pauses, resolved/closed stamps) follow the status."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, select

from maild.ticketing.editor import EventLog, TicketEditor
from maild.ticketing.record import load_ticket
from rules.businesstime import to_us
from storage import workflow
from storage.models import Event, TicketStatus
from tests.ticketing.conftest import CREATED, new_ticket


def _events(engine: Engine, ticket_id: int) -> list[tuple[str, str, dict]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Event.actor, Event.kind, Event.data)
            .where(Event.ticket_id == ticket_id)
            .order_by(Event.id)
        )
        return [(row.actor, row.kind, row.data) for row in rows]


def _edit(engine: Engine, ticket_id: int, at, actor: str, change) -> None:
    with engine.begin() as connection:
        editor = TicketEditor(connection, load_ticket(connection, ticket_id), at, actor)
        change(editor)
        editor.save()


def test_pending_pauses_the_sla_clock_and_a_reply_resumes_it(engine: Engine) -> None:
    record = new_ticket(engine)
    paused_at, resumed_at = CREATED + timedelta(minutes=10), CREATED + timedelta(hours=2)
    _edit(
        engine,
        record.id,
        paused_at,
        "agent:alice@example.com",
        lambda e: e.set_status(TicketStatus.PENDING),
    )
    with engine.connect() as connection:
        assert load_ticket(connection, record.id).sla_paused == [[to_us(paused_at), None]]
    _edit(
        engine,
        record.id,
        resumed_at,
        "customer:carol@customer.org",
        lambda e: e.set_status(TicketStatus.OPEN),
    )
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert stored.sla_paused == [[to_us(paused_at), to_us(resumed_at)]]
    assert stored.paused == ((paused_at, resumed_at),)
    assert stored.status == TicketStatus.OPEN
    assert [(actor, kind) for actor, kind, _ in _events(engine, record.id)] == [
        ("agent:alice@example.com", "status.changed"),
        ("customer:carol@customer.org", "status.changed"),
    ]


def test_resolving_stamps_and_reopening_clears(engine: Engine) -> None:
    record = new_ticket(engine)
    at = CREATED + timedelta(hours=1)
    _edit(engine, record.id, at, "system", lambda e: e.set_status(TicketStatus.RESOLVED))
    with engine.connect() as connection:
        assert load_ticket(connection, record.id).resolved_at == at
    _edit(engine, record.id, at, "system", lambda e: e.mark_auto_close_warned())
    _edit(
        engine,
        record.id,
        at + timedelta(days=1),
        "customer:carol@customer.org",
        lambda e: e.set_status(TicketStatus.OPEN),
    )
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.resolved_at, stored.closed_at, stored.auto_close_warned_at) == (None, None, None)


def test_closing_an_unresolved_ticket_counts_as_resolving_it(engine: Engine) -> None:
    record = new_ticket(engine)
    at = CREATED + timedelta(hours=3)
    _edit(engine, record.id, at, "system", lambda e: e.set_status(TicketStatus.CLOSED))
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.resolved_at, stored.closed_at) == (at, at)


def test_no_change_writes_nothing(engine: Engine) -> None:
    record = new_ticket(engine)

    def same(editor: TicketEditor) -> None:
        assert not editor.set_status(TicketStatus.NEW)
        assert not editor.set_priority("medium")
        assert not editor.change_tags(remove=["absent"])
        assert not editor.assign(None)
        assert not editor.changed

    _edit(engine, record.id, CREATED, "system", same)
    assert _events(engine, record.id) == []


def test_each_change_is_one_event_with_its_actor(engine: Engine) -> None:
    record = new_ticket(engine)
    at = CREATED + timedelta(minutes=5)

    def change(editor: TicketEditor) -> None:
        editor.set_priority("urgent", actor="rule:security")
        editor.set_category("security", actor="rule:security")
        editor.change_tags(add=["refund_request", "vip"], actor="rule:refunds")
        editor.change_tags(remove=["vip"])
        editor.assign("alice@example.com", "support", actor="rule:security", strategy="round_robin")
        editor.set_tier("L4", actor="rule:security")
        assert editor.mark_first_response()
        assert not editor.mark_first_response()
        editor.mark_fired("first_response", "warning")
        editor.mark_fired("first_response", "warning")

    _edit(engine, record.id, at, "agent:bob@example.com", change)
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.priority, stored.category, stored.tags) == (
        "urgent",
        "security",
        ["refund_request"],
    )
    assert (stored.assignee, stored.team, stored.tier) == ("alice@example.com", "support", "L4")
    assert stored.assigned_at == at and stored.first_response_at == at
    assert stored.fired == frozenset({("first_response", "warning")})
    assert stored.updated_at == at
    events = _events(engine, record.id)
    assert [(actor, kind) for actor, kind, _ in events] == [
        ("rule:security", "priority.changed"),
        ("rule:security", "category.changed"),
        ("rule:refunds", "tags.changed"),
        ("agent:bob@example.com", "tags.changed"),
        ("rule:security", "assignment.changed"),
        ("rule:security", "ticket.escalated"),
    ]
    assert events[0][2] == {"from": "medium", "to": "urgent"}
    assert events[3][2] == {"added": [], "removed": ["vip"]}
    assert events[4][2] == {
        "from": None,
        "to": "alice@example.com",
        "team": "support",
        "strategy": "round_robin",
    }


def test_unassigning_keeps_the_team_unless_told(engine: Engine) -> None:
    record = new_ticket(engine)
    _edit(engine, record.id, CREATED, "system", lambda e: e.assign("alice@example.com", "support"))
    _edit(engine, record.id, CREATED, "system", lambda e: e.assign(None))
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.assignee, stored.team, stored.assigned_at) == (None, "support", None)
    _edit(engine, record.id, CREATED, "system", lambda e: e.assign(None, None, keep_team=False))
    with engine.connect() as connection:
        assert load_ticket(connection, record.id).team is None


def test_a_shared_event_log_keeps_the_order_things_happened(engine: Engine) -> None:
    """Intake's channel: the mail's own events (ticket and actor given when written) and
    the editor's changes read in the order they were recorded; the editor's save writes
    only the ticket's columns."""
    record = new_ticket(engine)
    at = CREATED + timedelta(minutes=1)
    log = EventLog()
    with engine.begin() as connection:
        log.add("participant.added", {"address": "bob@customer.org"})
        editor = TicketEditor(connection, record, at, "customer:carol@customer.org", events=log)
        editor.set_status(TicketStatus.OPEN)
        editor.save()
        assert _events(engine, record.id) == []  # not by the editor
        log.add("message.received", {"threaded_by": "references"})
        rules = TicketEditor(connection, record, at, "rule", events=log)
        rules.change_tags(add=["follow_up"], actor="rule:follow-ups")
        assert rules.events == [("tags.changed", {"added": ["follow_up"], "removed": []})]
        rules.save()
        assert log.kinds == [
            "participant.added",
            "status.changed",
            "message.received",
            "tags.changed",
        ]
        log.write(connection, ticket_id=record.id, actor="customer:carol@customer.org", at=at)
        assert len(log) == 0
    assert [(actor, kind) for actor, kind, _ in _events(engine, record.id)] == [
        ("customer:carol@customer.org", "participant.added"),
        ("customer:carol@customer.org", "status.changed"),
        ("customer:carol@customer.org", "message.received"),
        ("rule:follow-ups", "tags.changed"),
    ]
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.status, stored.tags, stored.updated_at) == (TicketStatus.OPEN, ["follow_up"], at)


def test_discarded_events_of_a_rolled_back_savepoint_are_not_written(engine: Engine) -> None:
    record = new_ticket(engine)
    log = EventLog()
    with engine.begin() as connection:
        log.add("message.followed_merge", {"into": 1000})
        mark = len(log)
        editor = TicketEditor(connection, record, CREATED, "agent:bob@example.com", events=log)
        editor.set_priority("high")
        log.discard_from(mark)
        log.write(connection, ticket_id=record.id, actor="agent:bob@example.com", at=CREATED)
    assert [kind for _, kind, _ in _events(engine, record.id)] == ["message.followed_merge"]


def test_reopening_clears_what_a_finished_ticket_carried(engine: Engine) -> None:
    """A customer's reply to a pending ticket (intake) and an agent's reopening of a
    resolved one follow one rule: nothing of a finished ticket stays on an open one."""
    record = new_ticket(engine)
    at = CREATED + timedelta(hours=1)
    _edit(engine, record.id, at, "system", lambda e: e.set_status(TicketStatus.PENDING))
    with engine.begin() as connection:  # a stale stamp, as an old import could leave
        workflow.update_ticket(connection, record.id, {"auto_close_warned_at": at})
    later = at + timedelta(hours=1)
    _edit(
        engine,
        record.id,
        later,
        "customer:carol@customer.org",
        lambda e: e.set_status(TicketStatus.OPEN),
    )
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert (stored.resolved_at, stored.closed_at, stored.auto_close_warned_at) == (None, None, None)
    assert stored.sla_paused == [[to_us(at), to_us(later)]]


def test_touch_moves_only_updated_at_without_reading_the_ticket(engine: Engine) -> None:
    record = new_ticket(engine)
    later = CREATED + timedelta(minutes=7)
    with engine.begin() as connection:
        TicketEditor.touch(connection, record.id, later)
    with engine.connect() as connection:
        stored = load_ticket(connection, record.id)
    assert stored.updated_at == later
    assert (stored.status, stored.priority) == (record.status, record.priority)
    assert _events(engine, record.id) == []
