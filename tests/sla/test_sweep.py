"""The SLA sweep against the database, without SMTP: its fast read agrees with
``rules.sla.sla_status`` ticket by ticket, and it fires nothing twice, even when two
sweeps run at once or a ticket changes between the read and the write."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from maild.clock import ManualClock
from maild.config import Config
from maild.runtime import Runtime
from maild.scheduler import sla_jobs
from maild.sla.sweep import SlaSweep
from maild.ticketing.record import load_ticket
from rules.businesstime import to_us
from rules.sla import sla_status
from storage.models import Event, OutboxMessage, Ticket
from tests.sla.conftest import sla_config
from tests.support import Sink

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path, database_url: str, sink: Sink) -> Iterator[Runtime]:
    config: Config = sla_config(
        tmp_path,
        database_url,
        sink,
        sla={
            "timezone": "Europe/Berlin",
            "business_hours": {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-03-03"],
            "policies": {"medium": {"first_response": "1h", "resolution": "8h"}},
            "categories": {"billing": {"medium": {"first_response": "30m"}}},
            "vip": {"medium": {"first_response": "15m"}},
        },
        vip={"domains": ["vip.example"]},
    )
    with Runtime.open(config, ManualClock(NOW)) as opened:
        yield opened


def random_ticket(rng: random.Random, n: int) -> dict[str, Any]:
    created = NOW - timedelta(minutes=rng.uniform(0, 6 * 24 * 60))
    answered = created + timedelta(minutes=rng.uniform(1, 600)) if rng.random() < 0.4 else None
    paused: list[list[int | None]] = []
    status = rng.choice(["new", "open", "open", "pending"])
    if rng.random() < 0.3:
        start = created + timedelta(minutes=rng.uniform(0, 300))
        end = start + timedelta(minutes=rng.uniform(1, 300))
        paused.append([to_us(start), to_us(end)])
    if status == "pending":
        paused.append([to_us(NOW - timedelta(minutes=rng.uniform(0, 60))), None])
    keys = ["first_response.warning", "first_response.breach", "resolution.warning"]
    return {
        "number": 5000 + n,
        "token": secrets.token_hex(12),
        "mailbox": "support@example.com",
        "subject": f"Ticket {n}",
        "status": status,
        "priority": rng.choice(["urgent", "high", "medium", "low"]),
        "category": rng.choice([None, None, "billing", "Billing"]),
        "requester": rng.choice(["ada@customer.example", "boss@vip.example"]),
        "requester_name": "",
        "team": "support",
        "tags": [],
        "created_at": created,
        "updated_at": created,
        "first_response_at": answered,
        "sla_paused": paused,
        "sla_fired": [key for key in keys if rng.random() < 0.2],
    }


def add_tickets(runtime: Runtime, rows: list[dict[str, Any]]) -> None:
    with runtime.engine.begin() as connection:
        connection.execute(insert(Ticket.__table__), rows)


def sweep_of(runtime: Runtime) -> SlaSweep:
    return sla_jobs(runtime)[0]


def test_fast_read_agrees_with_sla_status(runtime: Runtime) -> None:
    rng = random.Random(11)
    add_tickets(runtime, [random_ticket(rng, n) for n in range(300)])
    policy = runtime.policy.current
    count, due = sweep_of(runtime).find_due(NOW, policy)
    expected = []
    with runtime.engine.connect() as connection:
        ids = connection.execute(select(Ticket.id, Ticket.number).order_by(Ticket.id)).all()
        for ticket_id, number in ids:
            record = load_ticket(connection, ticket_id)
            status = sla_status_of(record, policy)
            if status.due:
                expected.append((ticket_id, number))
    assert count == 300
    assert 20 < len(expected) < 280  # the sample has both kinds
    assert sorted(due) == expected


def sla_status_of(record: Any, policy: Any) -> Any:
    return sla_status(
        record.rules_view(policy), policy.sla_policy, policy.sla.calendar, NOW, record.fired
    )


def test_two_sweeps_at_once_fire_each_key_once(runtime: Runtime) -> None:
    rng = random.Random(5)
    rows = [random_ticket(rng, n) for n in range(60)]
    add_tickets(runtime, rows)
    policy = runtime.policy.current
    _, due = sweep_of(runtime).find_due(NOW, policy)
    expected_keys = 0
    with runtime.engine.connect() as connection:
        for ticket_id, _number in due:
            expected_keys += len(sla_status_of(load_ticket(connection, ticket_id), policy).due)
    assert expected_keys > 0
    fired_before = sum(len(row["sla_fired"]) for row in rows)

    start = threading.Barrier(2)
    fired: list[int] = []

    def run() -> None:
        sweep = sweep_of(runtime)
        start.wait()
        fired.append(sweep.run(NOW).fired)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(fired) == expected_keys
    assert sweep_of(runtime).run(NOW).fired == 0
    with runtime.engine.connect() as connection:
        fired_now = sum(
            len(row[0] or []) for row in connection.execute(select(Ticket.sla_fired)).all()
        )
        sla_events = connection.execute(
            select(Event.id).where(Event.kind.in_(["sla.warning", "sla.breached"]))
        ).all()
    assert fired_now == fired_before + expected_keys
    assert len(sla_events) == expected_keys


def test_ticket_answered_after_the_read_fires_nothing(runtime: Runtime) -> None:
    created = NOW - timedelta(hours=3)
    row = random_ticket(random.Random(1), 1) | {
        "status": "open",
        "priority": "medium",
        "category": None,
        "requester": "ada@customer.example",
        "created_at": created,
        "first_response_at": None,
        "sla_paused": [],
        "sla_fired": [],
    }
    add_tickets(runtime, [row])
    sweep = sweep_of(runtime)
    policy = runtime.policy.current
    _, due = sweep.find_due(NOW, policy)
    assert len(due) == 1
    with runtime.engine.begin() as connection:  # an agent answers meanwhile
        connection.execute(
            Ticket.__table__.update().values(first_response_at=NOW - timedelta(minutes=1))
        )
    assert sweep.fire(due[0][0], NOW, policy) == 0
    with runtime.engine.connect() as connection:
        assert connection.execute(select(OutboxMessage.id)).all() == []
