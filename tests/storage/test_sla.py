"""storage.sla: what the SLA sweep and auto-close read to find their work."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from storage import sla
from storage.models import TicketStatus
from tests.storage.conftest import AT, add_ticket


def test_sla_rows_are_the_tickets_whose_clock_runs(engine: Engine) -> None:
    with engine.begin() as connection:
        for number, status in enumerate(TicketStatus, start=1000):
            add_ticket(connection, number, status=status, sla_fired=["resolution.warning"])
        rows = sla.sla_rows(connection)
        assert sorted(row.number for row in rows) == [1000, 1001, 1002]  # new, open, pending
        assert tuple(rows[0]._fields) == sla.SLA_COLUMNS
        assert rows[0].created_at == AT
        assert rows[0].sla_fired == ["resolution.warning"]
        if engine.dialect.name == "sqlite":
            as_text = sla.sla_rows(connection, as_text=True)[0]
            assert isinstance(as_text.created_at, str)
            assert isinstance(as_text.sla_fired, str)
            assert as_text.priority == "medium"


def test_resolved_before_is_auto_close_candidates(engine: Engine) -> None:
    old, recent = AT - timedelta(days=5), AT - timedelta(hours=1)
    with engine.begin() as connection:
        add_ticket(connection, 1000, status=TicketStatus.RESOLVED, resolved_at=old)
        add_ticket(connection, 1001, status=TicketStatus.RESOLVED, resolved_at=recent)
        add_ticket(connection, 1002, status=TicketStatus.CLOSED, resolved_at=old)
        add_ticket(connection, 1003, status=TicketStatus.OPEN)
        rows = sla.resolved_before(connection, AT - timedelta(days=1))
    assert [(row.number, row.resolved_at, row.auto_close_warned_at) for row in rows] == [
        (1000, old, None)
    ]
