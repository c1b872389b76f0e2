"""The parts of a running maild, built once from the configuration and passed down.

Used by ``maild serve`` and by the one-shot commands (``ingest``, ``quarantine retry``) so
that every way in goes through the same writer and pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from maild.automation.policy import PolicyHolder
from maild.chains import intake_chains
from maild.clock import Clock, SystemClock
from maild.config import Config
from maild.database import open_engine
from maild.kb.holder import KnowledgeBase
from maild.pipeline.delivery import Delivery, DeliveryResult
from maild.pipeline.driver import Pipeline
from maild.pipeline.intake import IntakeService
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.writer import GroupCommitWriter
from maild.ticketing.dead_mail import DeadMailNotice
from maild.ticketing.notify import Notifier
from outbound.outbox import OutboxWorker, RetryPolicy
from outbound.templating import TemplateRenderer
from outbound.transport import Transport, transport_from_url
from storage.engine import (
    check_writable,
    is_read_only,
    read_only_error,
    session_factory,
    writer_engine,
)
from storage.schema import ensure_current

__all__ = ["Delivery", "Runtime", "open_engine"]


def make_transport(config: Config) -> Transport:
    return transport_from_url(
        config.outbound.relay or None,
        config.outbound_dir,
        starttls=config.outbound.starttls,
        username=config.outbound.username or None,
        password=config.relay_password(),
    )


@dataclass
class Runtime:
    config: Config
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    write_sessions: sessionmaker[Session]
    writer: GroupCommitWriter
    intake: IntakeService
    outbox: OutboxWorker
    policy: PolicyHolder
    notifier: Notifier
    renderer: TemplateRenderer
    _commit_listeners: list[Callable[[list[DeliveryResult]], None]] = field(default_factory=list)
    # The knowledge base the acknowledgement suggests articles from ([kb] dir), if any.
    kb: KnowledgeBase | None = None

    def on_commit(self, listener: Callable[[list[DeliveryResult]], None]) -> None:
        """Call ``listener`` (from the writer thread) after every committed group."""
        self._commit_listeners.append(listener)

    @classmethod
    @contextmanager
    def open(
        cls,
        config: Config,
        clock: Clock | None = None,
        *,
        transport: Transport | None = None,
        create_schema: bool = True,
    ) -> Iterator[Runtime]:
        """Open the database (upgrading an empty one), start the writer; stop on exit.

        Raises :class:`storage.engine.DatabaseReadOnly` when the database refuses writes:
        everything built on a runtime writes."""
        clock = clock or SystemClock()
        engine = open_engine(config)
        try:
            try:
                ensure_current(engine, create_if_empty=create_schema)
            except DBAPIError as error:  # e.g. creating the schema in a read-only file
                if is_read_only(error):
                    raise read_only_error(engine.url, error) from None
                raise
            check_writable(engine)
            sessions = session_factory(engine)
            # Writes outside the intake writer (outbox, CLI changes) lock at BEGIN (SQLite).
            write_sessions = session_factory(writer_engine(engine))
            mailboxes = MailboxDirectory(config.mailboxes, config.maild.note_address)
            renderer = TemplateRenderer(config.outbound.templates_dir)
            policy = PolicyHolder(config)
            kb = KnowledgeBase.configured(config.kb)
            notifier = Notifier(config, renderer)
            pipeline = Pipeline(
                intake_chains(config, mailboxes, renderer, notifier, kb),
                clock,
                lambda: policy.current,
            )
            listeners: list[Callable[[list[DeliveryResult]], None]] = []
            writer = GroupCommitWriter(
                writer_engine(engine),
                pipeline,
                max_batch=config.intake.max_batch,
                on_commit=lambda results: [listener(results) for listener in listeners],
            )
            outbox = OutboxWorker(
                write_sessions,
                transport or make_transport(config),
                clock.now,
                retry=RetryPolicy(
                    max_lifetime=config.outbound.max_lifetime,
                    max_backoff=config.outbound.max_backoff,
                ),
                lease=config.outbound.lease,
                on_dead=DeadMailNotice(config, renderer),
            )
            runtime = cls(
                config=config,
                clock=clock,
                engine=engine,
                sessions=sessions,
                write_sessions=write_sessions,
                writer=writer,
                intake=IntakeService(config, writer, mailboxes),
                outbox=outbox,
                policy=policy,
                notifier=notifier,
                renderer=renderer,
                _commit_listeners=listeners,
                kb=kb,
            )
            writer.start()
            try:
                yield runtime
            finally:
                writer.stop()
        finally:
            engine.dispose()
