"""The webhook worker's queries are answered by ``ix_webhook_deliveries_due`` on SQLite and
PostgreSQL (invariant 8): a year of delivered events costs the claim nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.sql import Executable

from maild.database import open_engine
from storage import webhooks
from storage.models import WebhookStatus
from storage.schema import ensure_current
from tests.conftest import make_config
from tests.storage.conftest import AT
from tests.storage.test_plans import analyze, full_scans, plan

INDEX = "ix_webhook_deliveries_due"


@pytest.fixture
def engine(tmp_path: Path, database_url: str) -> Iterator[Engine]:
    engine = open_engine(make_config(tmp_path, database_url))
    ensure_current(engine)
    yield engine
    engine.dispose()


def seed(engine: Engine, delivered: int = 3000, pending: int = 20) -> None:
    """A year of delivered events and a few waiting."""
    rows = [
        {
            "webhook": "crm",
            "event": "ticket.created",
            "msg_id": f"msg_{n}",
            "ticket_number": 1000 + n,
            "payload": "{}",
            "created_at": AT + timedelta(minutes=n),
        }
        for n in range(delivered + pending)
    ]
    with engine.begin() as connection:
        webhooks.insert_deliveries(connection, rows)
        connection.execute(
            webhooks._deliveries.update()
            .where(webhooks._c.id <= delivered)
            .values(status=WebhookStatus.DELIVERED)
        )
    analyze(engine)


def uses_the_index(engine: Engine, shown: str) -> bool:
    if engine.dialect.name == "sqlite":
        return f"USING INDEX {INDEX}" in shown or f"USING COVERING INDEX {INDEX}" in shown
    return INDEX in shown


LATER = AT + timedelta(days=400)

QUERIES: list[tuple[str, Executable, dict[str, Any]]] = [
    ("claim due deliveries", webhooks._DUE, {"now": LATER, "limit": 50}),
    ("anything due", webhooks._ANY_DUE, {"now": LATER}),
    (
        "webhooks list",
        webhooks.lines_query((WebhookStatus.PENDING, WebhookStatus.DEAD), 100),
        {},
    ),
]


@pytest.mark.parametrize(("name", "statement", "params"), QUERIES, ids=[q[0] for q in QUERIES])
def test_the_worker_reads_due_deliveries_by_index(
    engine: Engine, name: str, statement: Executable, params: dict[str, Any]
) -> None:
    seed(engine)
    shown = plan(engine, statement, params)
    assert uses_the_index(engine, shown), shown
    assert full_scans(engine, shown) == [], shown


def test_the_claim_takes_the_oldest_due_and_leases_them(engine: Engine) -> None:
    seed(engine, delivered=30, pending=5)
    with engine.begin() as connection:
        claimed = webhooks.claim(connection, LATER, timedelta(minutes=5), 3)
    assert [item.msg_id for item in claimed] == ["msg_30", "msg_31", "msg_32"]
    assert {item.attempts for item in claimed} == {1}
    with engine.connect() as connection:
        left = webhooks.claim(connection, LATER, timedelta(minutes=5), 10)
        assert [item.msg_id for item in left] == ["msg_33", "msg_34"]
        assert webhooks.any_due(connection, LATER + timedelta(minutes=5))
        due = connection.execute(select(webhooks._c.next_attempt_at).where(webhooks._c.id == 31))
        assert due.scalar_one() == LATER + timedelta(minutes=5)
