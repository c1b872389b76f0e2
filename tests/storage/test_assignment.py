"""storage.assignment: the agents' workloads and round robin's persisted position."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from storage import assignment
from storage.models import AssignmentCursor, TicketStatus
from tests.storage.conftest import AT, add_ticket


def test_workloads_count_open_tickets_and_the_last_assignment(engine: Engine) -> None:
    first, last = AT + timedelta(hours=1), AT + timedelta(hours=5)
    with engine.begin() as connection:
        for number, status, when in (
            (1000, TicketStatus.NEW, first),
            (1001, TicketStatus.PENDING, last),
            (1002, TicketStatus.RESOLVED, first),
        ):
            add_ticket(connection, number, status=status, assignee="ann@x.org", assigned_at=when)
        add_ticket(connection, 1003, status=TicketStatus.CLOSED, assignee="ben@x.org")
        add_ticket(connection, 1004, assignee="eve@x.org")  # not asked for

        loads = assignment.workloads(connection, ["ann@x.org", "ben@x.org", "cy@x.org"])
        assert assignment.workloads(connection, []) == {}

    assert loads == {"ann@x.org": (2, last), "ben@x.org": (0, None)}  # cy has no ticket


def test_round_robin_position_is_inserted_then_moved(engine: Engine) -> None:
    with engine.begin() as connection:
        assert assignment.round_robin_position(connection, "support") is None
        assignment.save_round_robin_position(connection, "support", 2)
        assignment.save_round_robin_position(connection, "", 0)
        assignment.save_round_robin_position(connection, "support", 3)
        assert assignment.round_robin_position(connection, "support") == 3
        assert assignment.round_robin_position(connection, "") == 0
        rows = connection.execute(select(func.count()).select_from(AssignmentCursor)).scalar()
        assert rows == 2
