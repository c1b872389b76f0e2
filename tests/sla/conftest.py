"""What the SLA tests share: a configuration with agents, teams, tiers and a one-hour
first-response target for medium tickets, a daemon started with it, and helpers that
change a ticket the way an agent would (through the TicketEditor) and read the sink."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from maild.runtime import Runtime
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import TicketRecord, find_ticket
from storage.engine import writer_engine
from storage.models import Event, OutboxMessage, OutboxStatus
from tests.conftest import config_data
from tests.support import DaemonThread, Received, Sink

POLICY: dict[str, Any] = {
    "sla": {"policies": {"medium": {"first_response": "1h", "resolution": "8h"}}},
    "teams": [{"name": "support"}, {"name": "l2"}],
    "agents": [
        {"address": "alice@example.com", "name": "Alice", "teams": ["support"]},
        {"address": "bob@example.com", "name": "Bob", "teams": ["l2"]},
    ],
    "escalation": {
        "tiers": [
            {"name": "L1", "team": "support"},
            {"name": "L2", "team": "l2", "raise_priority": True},
        ]
    },
    "rules": [
        {
            "name": "tag breaches",
            "when": {"event": "sla.breached"},
            "then": {"tags": ["sla_breached"]},
        }
    ],
}


def sla_config(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    *,
    maild: dict[str, Any] | None = None,
    **policy: Any,
) -> Config:
    data = config_data(tmp_path, database_url, sink.port)
    data.update(copy.deepcopy(POLICY))
    data.update(policy)
    data["maild"].update(maild or {})
    return config_from_mapping(data)


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    return sla_config(tmp_path, database_url, sink)


@pytest.fixture
def start_daemon(clock: ManualClock) -> Iterator[Callable[[Config], DaemonThread]]:
    """For a test that needs a configuration of its own."""
    started: list[DaemonThread] = []

    def start(config: Config) -> DaemonThread:
        started.append(DaemonThread(config, clock).start())
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()


def edit(
    runtime: Runtime, number: int, change: Callable[[TicketEditor], object], actor: str
) -> TicketRecord:
    """Change ticket ``number`` in a transaction of its own, as an agent command would."""
    with writer_engine(runtime.engine).begin() as connection:
        record = find_ticket(connection, number)
        assert record is not None
        editor = TicketEditor(connection, record, runtime.clock.now(), actor)
        change(editor)
        editor.save()
        return editor.record


def ticket(runtime: Runtime, number: int) -> TicketRecord:
    with runtime.engine.connect() as connection:
        record = find_ticket(connection, number)
    assert record is not None
    return record


def events(runtime: Runtime, kind: str) -> list[dict[str, Any]]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(Event.data).where(Event.kind == kind).order_by(Event.id)
        ).all()
    return [row[0] for row in rows]


def queued(runtime: Runtime, kind: str) -> list[OutboxMessage]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )


def delivered(daemon: DaemonThread, sink: Sink, phrase: str) -> list[Received]:
    """Once everything queued has been sent, the mails at the sink whose text has
    ``phrase``. (The flush waits for one the daemon's own outbox loop has in progress.)"""
    daemon.flush_outbox()
    assert not pending(daemon.runtime), "the outbox did not empty"
    return [mail for mail in sink.received if phrase in text_of(mail)]


def pending(runtime: Runtime) -> int:
    with runtime.engine.connect() as connection:
        return len(
            connection.execute(
                select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING)
            ).all()
        )


def text_of(mail: Received) -> str:
    part = mail.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())
