"""The group-commit writer: groups share a transaction, a bad message fails alone."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from maild.chains import intake_chains
from maild.clock import ManualClock
from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Delivery, Outcome
from maild.pipeline.driver import Pipeline
from maild.pipeline.intake import IntakeService
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.writer import GroupCommitWriter
from maild.runtime import open_engine
from outbound.templating import TemplateRenderer
from storage.engine import session_factory, writer_engine
from storage.models import Message, QuarantinedMessage
from storage.schema import ensure_current
from tests.conftest import make_config
from tests.mails import customer_mail


class ExplodeOn:
    """A step with a bug that only one message triggers."""

    name = "explode"

    def __init__(self, subject: str) -> None:
        self.subject = subject

    def __call__(self, context: IntakeContext) -> None:
        if context.parsed.subject == self.subject:
            raise RuntimeError("bug triggered by this message")


class Gate:
    """Holds the writer inside its first transaction until released, so that the
    messages submitted meanwhile queue up and form one group."""

    name = "gate"

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self, context: IntakeContext) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.release.wait(10)


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    # Dozens of new tickets from one sender in one instant: the new-ticket limit is off.
    return make_config(tmp_path, database_url, limits={"new_tickets_per_sender_per_hour": 0})


@contextmanager
def build(config: Config, *extra_steps) -> Iterator[tuple[IntakeService, GroupCommitWriter]]:
    engine = open_engine(config)
    ensure_current(engine)
    clock = ManualClock(datetime(2026, 3, 2, tzinfo=UTC))
    mailboxes = MailboxDirectory(config.mailboxes)
    chains = intake_chains(config, mailboxes, TemplateRenderer(None))
    chains = replace(chains, first=(*extra_steps, *chains.first))
    writer = GroupCommitWriter(writer_engine(engine), Pipeline(chains, clock))
    writer.start()
    try:
        yield IntakeService(config, writer, mailboxes), writer
    finally:
        writer.stop()
        engine.dispose()


def delivery(subject: str, n: int) -> Delivery:
    raw = customer_mail(subject=subject, message_id=f"<w{n}@customer.example>")
    return Delivery(raw, "ada@customer.example", ("support@example.com",), "test")


def test_messages_arriving_together_share_one_commit(config: Config) -> None:
    gate = Gate()
    with build(config, gate) as (intake, writer):
        first = intake.submit(delivery("first", 0))
        assert gate.entered.wait(10)
        rest = [intake.submit(delivery(f"m{n}", n)) for n in range(1, 31)]
        gate.release.set()
        results = [f.result(10) for f in [first, *rest]]
        assert all(r[0].outcome is Outcome.NEW_TICKET for r in results)
        assert writer.batches == 2  # the first alone, then the 30 that queued behind it


def test_bad_message_is_quarantined_without_failing_its_group(config: Config) -> None:
    gate = Gate()
    with build(config, gate, ExplodeOn("poison")) as (intake, writer):
        first = intake.submit(delivery("first", 0))
        assert gate.entered.wait(10)
        group = [intake.submit(delivery("poison" if n == 5 else f"m{n}", n)) for n in range(1, 11)]
        gate.release.set()
        outcomes = [f.result(10)[0].outcome for f in [first, *group]]
        assert outcomes.count(Outcome.QUARANTINED) == 1
        assert outcomes.count(Outcome.NEW_TICKET) == 10
        assert writer.batches == 2
        with session_factory(writer._engine)() as session:
            assert len(session.scalars(select(Message)).all()) == 10
            [held] = session.scalars(select(QuarantinedMessage)).all()
            assert "bug triggered" in held.error and "RuntimeError" in (held.detail or "")
