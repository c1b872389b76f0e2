"""One intake step at a time, on a real SQLite database with the schema.

:class:`Desk` holds the database connection (one transaction per test), the configuration
(two mailboxes, agents Alice and Bob, the note address, LMTP as a trusted source) and the
real chains. A test sets the scene by delivering mail through the real pipeline
(:meth:`Desk.deliver`), then builds the context of the next mail (:meth:`Desk.context`),
runs the earlier steps it depends on and the one step under test, and reads back what it
did.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select

from maild.chains import intake_chains
from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Delivery, DeliveryResult, Job
from maild.pipeline.driver import Pipeline
from maild.pipeline.intake import parse_raw
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.steps import Step
from maild.ticketing.notify import Notifier
from maild.ticketing.record import TicketRecord, find_ticket
from outbound.templating import TemplateRenderer
from storage.engine import DatabaseSettings, create_database_engine
from storage.models import Event, Message, OutboxMessage, Participant, Ticket
from storage.schema import ensure_current
from tests.conftest import config_data

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ALICE = "alice@example.com"
BOB = "bob@example.com"
ADA = "ada@customer.example"


def desk_data(tmp_path: Path, **sections: Any) -> dict[str, Any]:
    data = config_data(
        tmp_path,
        f"sqlite:///{tmp_path / 'maild.db'}",
        maild={"note_address": "notes@example.com"},
        trust={"sources": ["lmtp"]},
        **sections,
    )
    data["teams"] = [{"name": "support"}, {"name": "billing"}]
    data["agents"] = [
        {"address": ALICE, "name": "Alice", "teams": ["support"]},
        {"address": BOB, "name": "Bob", "teams": ["billing"]},
    ]
    return data


@pytest.fixture(scope="session")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with the schema, made once; each test works on a copy."""
    path = tmp_path_factory.mktemp("schema") / "maild.db"
    engine = create_database_engine(DatabaseSettings(url=f"sqlite:///{path}"))
    ensure_current(engine)
    engine.dispose()
    return path


@dataclass
class Desk:
    config: Config
    connection: Connection
    clock: ManualClock

    def __post_init__(self) -> None:
        self.mailboxes = MailboxDirectory(self.config.mailboxes, self.config.maild.note_address)
        self.renderer = TemplateRenderer(self.config.outbound.templates_dir)
        self.notifier = Notifier(self.config, self.renderer)
        self.chains = intake_chains(self.config, self.mailboxes, self.renderer, self.notifier)
        self.pipeline = Pipeline(self.chains, self.clock, lambda: self.config.policy)

    # -- making mail -------------------------------------------------------------------

    def job(
        self,
        raw: bytes,
        *,
        to: tuple[str, ...] = ("support@example.com",),
        mail_from: str = ADA,
        source: str = "smtp",
    ) -> Job:
        """One delivery of ``raw`` to the first mailbox ``to`` reaches, as intake makes it."""
        found = [r for r in map(self.mailboxes.resolve, to) if r is not None]
        tokens = [r.token for r in found if r.token is not None]
        return Job(
            Delivery(raw, mail_from, to, source),
            parse_raw(raw, self.config.maild.ticket_prefix),
            found[0].mailbox,
            tuple(t.token for t in tokens),
            verp_ids=tuple(t.verp_id for t in tokens if t.verp_id),
        )

    def context(self, raw: bytes, **delivery: Any) -> IntakeContext:
        return IntakeContext(
            connection=self.connection,
            job=self.job(raw, **delivery),
            now=self.clock.now(),
            policy=self.config.policy,
        )

    def deliver(self, raw: bytes, **delivery: Any) -> DeliveryResult:
        """Store ``raw`` through the real chains, as a source would."""
        with self.connection.begin_nested():
            return self.pipeline.process(self.connection, self.job(raw, **delivery))

    def run(self, context: IntakeContext, *steps: Step) -> IntakeContext:
        for step in steps:
            step(context)
        return context

    def first(self, context: IntakeContext) -> IntakeContext:
        """The steps every mail takes before its chain (who sent it, which ticket)."""
        return self.run(context, *self.chains.first)

    def step(self, chain: tuple[Step, ...], name: str) -> Step:
        [found] = [step for step in chain if step.name == name]
        return found

    # -- reading back ------------------------------------------------------------------

    def ticket(self, number: int = 1000) -> TicketRecord:
        found = find_ticket(self.connection, number)
        assert found is not None
        return found

    def tickets(self) -> list[Ticket]:
        return list(self.connection.execute(select(Ticket).order_by(Ticket.number)).all())

    def messages(self, number: int = 1000) -> list[Any]:
        return list(
            self.connection.execute(
                select(Message.kind, Message.reply_text, Message.from_address)
                .join(Ticket, Ticket.id == Message.ticket_id)
                .where(Ticket.number == number)
                .order_by(Message.id)
            ).all()
        )

    def events(self, number: int = 1000) -> list[Any]:
        return list(
            self.connection.execute(
                select(Event.kind, Event.actor, Event.data)
                .join(Ticket, Ticket.id == Event.ticket_id)
                .where(Ticket.number == number)
                .order_by(Event.id)
            ).all()
        )

    def participants(self, number: int = 1000) -> dict[str, str]:
        rows = self.connection.execute(
            select(Participant.address, Participant.role)
            .join(Ticket, Ticket.id == Participant.ticket_id)
            .where(Ticket.number == number)
        ).all()
        return {address: str(role) for address, role in rows}

    def outbox(self, kind: str | None = None) -> list[Any]:
        query = select(OutboxMessage.kind, OutboxMessage.recipients, OutboxMessage.message_id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(self.connection.execute(query.order_by(OutboxMessage.id)).all())


def open_desk(tmp_path: Path, schema_file: Path, data: dict[str, Any]) -> Iterator[Desk]:
    shutil.copyfile(schema_file, tmp_path / "maild.db")
    config = config_from_mapping(data)
    engine: Engine = create_database_engine(DatabaseSettings(url=config.database_url))
    try:
        with engine.connect() as connection, connection.begin():
            yield Desk(config, connection, ManualClock(NOW))
    finally:
        engine.dispose()


@pytest.fixture
def desk(tmp_path: Path, schema_file: Path) -> Iterator[Desk]:
    yield from open_desk(tmp_path, schema_file, desk_data(tmp_path))
