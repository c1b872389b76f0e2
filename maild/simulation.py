"""One simulation path: what maild *would* do, by doing it where it does not count.

``maild import --dry-run``, ``maild rules test FILE.eml`` and ``maild sla sweep --at <a time
still to come>`` run the real code, not a model of it: a :class:`~maild.runtime.Runtime`
with its intake pipeline and group-commit writer (``maild import``'s own code path), and the
SLA sweep and auto-close the scheduler runs. They run it against a scratch database, report
what changed there, and throw it away. So a simulation cannot disagree with live intake:
there is no second copy of intake to drift.

The scratch database is SQLite, in a private temporary folder, deleted when the simulation
ends:

- The live database is SQLite (the embedded default): a copy made with SQLite's online
  backup from a read-only connection. The live file is never opened for writing (it is not
  created when missing, not changed when there) and its write lock is never taken: the
  backup is one read transaction, and in WAL mode the daemon goes on writing meanwhile.
- The live database is PostgreSQL: every row of maild's tables copied into the scratch
  file, read in one READ ONLY, REPEATABLE READ transaction (a consistent snapshot that can
  write nothing and makes no writer wait). Exact: the same rows, the same code, replies
  within an archive find their parents as they would in a real import. The limits: the
  copy costs time and temporary disk in proportion to the database (``TMPDIR`` chooses the
  disk), and the simulated writes run on SQLite, whose answers to maild's queries are the
  ones PostgreSQL gives (the suite runs on both). Rolling back a transaction per message on
  the live database would cost less, but a reply could not find the message before it in
  the same archive, and a fault there would write to the live database: a copy fails safe.
- There is no database yet (no SQLite file, or a database without maild's schema): an
  empty schema in memory (SQLite's memdb VFS).

Ticket numbers come from the scratch copy of the counter: the numbers the next real
tickets would get, shown and never taken from the live counter. The runtime's transport
refuses to send; what would be sent is the scratch outbox, read back (:attr:`Changes.mail`)
with everything else the run added.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from maild.clock import Clock, ManualClock
from maild.config import Config, MailboxConfig
from maild.database import open_engine
from maild.pipeline.delivery import DeliveryResult, Outcome
from maild.ticketing.record import TicketRecord, find_ticket
from outbound.transport import PermanentSendError
from parsing import ParsedMail
from rules.config import RulesConfig
from rules.engine import RuleOutcome, explain
from rules.model import Event, EventKind, TicketView
from rules.sla import SlaStatus
from storage.engine import DatabaseSettings, create_database_engine
from storage.models import MessageKind
from storage.schema import SchemaState, ensure_current, schema_state
from storage.scratch import (
    Changes,
    EventLine,
    Marks,
    QueuedMail,
    backup_sqlite,
    changes_since,
    copy_rows,
    held,
    marks,
)

if TYPE_CHECKING:
    from maild.runtime import Runtime
    from maild.sla import AutoCloseReport, IdleReport, SweepReport

__all__ = [
    "Changes",
    "MailTrial",
    "Simulation",
    "SweepTrial",
    "changes_json",
    "mail_subject",
    "quiet_logs",
    "simulate_mail",
    "simulate_sweep",
]

log = logging.getLogger(__name__)

# The scratch database is thrown away: it need not survive a power cut.
_SCRATCH_SYNCHRONOUS = "OFF"
_RULE_ACTOR = "rule:"
# What rules conditions read of a ticket that earlier rules may have changed.
_RULE_FIELDS = {"priority.changed": "priority", "category.changed": "category"}


class NothingLeaves:
    """The transport of a simulation's runtime: it sends nothing, ever. What would be sent
    is read from the scratch outbox instead."""

    def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
        raise PermanentSendError("a simulation sends no mail")


class Simulation:
    """A scratch database made from the configured one, and runtimes on it.

    Use it as a context manager; the scratch database is made when the first runtime is
    opened (so ``maild import`` has read its archive first) and deleted on exit::

        with Simulation(config) as simulation:
            with simulation.runtime() as runtime:
                runtime.intake.deliver(delivery)
            changes = simulation.changes()
    """

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self._clock = clock
        self._folder: Path | None = None
        self._anchor: sqlite3.Connection | None = None  # keeps an in-memory scratch alive
        self._url: str | None = None
        self._engine: Engine | None = None
        self._marks = Marks()
        self.source = ""
        """What the scratch database holds, for the report: a copy of what, or nothing."""

    def __enter__(self) -> Simulation:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._anchor is not None:
            self._anchor.close()
            self._anchor = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    # -- the scratch database ----------------------------------------------------------

    @contextmanager
    def runtime(self, config: Config | None = None) -> Iterator[Runtime]:
        """A runtime like ``Runtime.open(config)``'s, on the scratch database, whose mail
        goes nowhere. ``config`` (default: the simulation's) may differ in its rules."""
        from maild.runtime import Runtime

        self._prepare()
        with Runtime.open(
            self._scratch_config(config or self.config), self._clock, transport=NothingLeaves()
        ) as runtime:
            yield runtime

    def changes(self) -> Changes:
        """What the runtimes added to the scratch database so far."""
        if self._engine is None:
            return Changes()
        with self._engine.connect() as connection:
            return changes_since(connection, self._marks)

    def ticket(self, number: int) -> TicketRecord | None:
        """Ticket ``number`` as the scratch database holds it now."""
        if self._engine is None:
            return None
        with self._engine.connect() as connection:
            return find_ticket(connection, number)

    def quarantine_reason(self, quarantine_id: int) -> str | None:
        if self._engine is None:
            return None
        with self._engine.connect() as connection:
            found = held(connection, ids=[quarantine_id])
        return found[0].reason if found else None

    def _scratch_config(self, config: Config) -> Config:
        assert self._url is not None
        database = config.database.model_copy(
            update={"url": self._url, "synchronous": _SCRATCH_SYNCHRONOUS}
        )
        return config.model_copy(update={"database": database})

    def _prepare(self) -> None:
        if self._url is not None:
            return
        live = make_url(self.config.database_url)
        if live.get_backend_name() == "sqlite":
            path = _sqlite_file(live.database)
            if path is not None and path.exists():
                self._scratch_file()
                assert self._folder is not None
                backup_sqlite(
                    path, self._folder / "scratch.db", timeout=self.config.database.busy_timeout
                )
                self.source = f"a copy of {path}"
            else:
                self._scratch_in_memory()
        else:
            source = open_engine(self.config)
            try:
                state = schema_state(source)
                if state is SchemaState.EMPTY:
                    self._scratch_in_memory()
                else:
                    ensure_current(source, create_if_empty=False)  # explains an old schema
                    self._scratch_file()
                    engine = self._open_scratch()
                    copied = copy_rows(source, engine)
                    log.info("simulation: copied %d rows", sum(copied.values()))
                    self.source = "a copy of " + live.render_as_string(hide_password=True)
            finally:
                source.dispose()
        engine = self._open_scratch()
        with engine.connect() as connection:
            self._marks = marks(connection)

    def _scratch_file(self) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="maild-simulation-"))
        self._url = f"sqlite:///{self._folder / 'scratch.db'}"

    def _scratch_in_memory(self) -> None:
        name = f"/maild-simulation-{uuid.uuid4().hex}"
        # memdb databases live as long as one connection to them is open, and (unlike a
        # shared-cache ":memory:") lock like files, so the writer thread and readers share
        # it safely.
        self._anchor = sqlite3.connect(f"file:{name}?vfs=memdb", uri=True)
        self._url = f"sqlite:///file:{name}?vfs=memdb&uri=true"
        self.source = "an empty database (there is none yet)"

    def _open_scratch(self) -> Engine:
        """The scratch engine, with maild's schema (a copy's must be current already)."""
        if self._engine is None:
            assert self._url is not None
            self._engine = create_database_engine(
                DatabaseSettings(url=self._url, synchronous=_SCRATCH_SYNCHRONOUS)
            )
            ensure_current(self._engine, create_if_empty=True)
        return self._engine


@contextmanager
def quiet_logs(enabled: bool = True) -> Iterator[None]:
    """Hold back the INFO lines of a simulated run ("new_ticket: ticket #1000 …"): they
    describe the scratch database, not the helpdesk, and the report says it all. Warnings
    and errors still show. ``enabled`` False (the operator chose a log level) changes
    nothing."""
    names = ("maild", "outbound")
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    if enabled:
        for logger in loggers:
            if logger.getEffectiveLevel() < logging.WARNING:
                logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def _sqlite_file(database: str | None) -> Path | None:
    """The file a SQLite URL's database names; None for an in-memory database."""
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        path = unquote(urlsplit(database).path)
        return Path(path) if path and path != ":memory:" else None
    return Path(database)


def mail_subject(mail: QueuedMail) -> str:
    """The Subject of a queued message, decoded."""
    headers = BytesHeaderParser(policy=default_policy).parsebytes(mail.raw)
    return str(headers.get("Subject", ""))


def changes_json(changes: Changes, *, events: bool = True) -> dict[str, Any]:
    """``changes`` for ``--json``: the tickets opened, the older tickets that got mail, the
    mail that would be sent, the quarantined messages and (``events``) the audit trail."""
    data: dict[str, Any] = {
        "tickets": [dataclasses.asdict(ticket) for ticket in changes.tickets],
        "replies": [dataclasses.asdict(ticket) for ticket in changes.touched],
        "mail": [
            {
                "ticket": mail.ticket,
                "kind": mail.kind,
                "from": mail.mail_from,
                "to": list(mail.recipients),
                "subject": mail_subject(mail),
                "send_at": mail.due_at.isoformat(),
            }
            for mail in changes.mail
        ],
        "quarantine": [
            {"mailbox": item.mailbox, "from": item.mail_from, "reason": item.reason}
            for item in changes.quarantine
        ],
    }
    if events:
        data["events"] = [event_json(event) for event in changes.events]
    return data


def event_json(event: EventLine) -> dict[str, Any]:
    return {
        "ticket": event.ticket,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "kind": event.kind,
        "data": event.data,
    }


# --------------------------------------------------------------------------------------------
# maild rules test


@dataclass(frozen=True)
class MailTrial:
    """What live intake would do with one mail, and why."""

    at: datetime
    mailbox: str
    parsed: ParsedMail
    result: DeliveryResult
    changes: Changes
    source: str
    ticket: TicketRecord | None = None
    """The ticket it ended on, as stored (None: quarantined)."""
    quarantine: str | None = None
    """Why it was quarantined."""
    rules: tuple[RuleOutcome, ...] = ()
    """How each rule fared on the ticket as the rules saw it (empty: no rules ran)."""
    notes: tuple[str, ...] = ()
    sla: SlaStatus | None = None

    @property
    def events(self) -> tuple[EventLine, ...]:
        if self.ticket is None:
            return ()
        return self.changes.events_of(self.ticket.number)


def simulate_mail(
    config: Config,
    raw: bytes,
    *,
    at: datetime,
    mailbox: str | None = None,
    include_disabled: bool = False,
) -> MailTrial:
    """Hand ``raw`` to intake at ``at`` as mail delivered to ``mailbox`` (default: the first
    configured mailbox its To/Cc name, else the first one), on a scratch database.

    ``include_disabled`` runs the rules with ``enabled = false`` too: how an admin tries a
    rule on a real mail before switching it on.
    """
    from maild.pipeline.envelope import stored_delivery
    from maild.sla.sweep import sla_report

    policy = _with_disabled_rules(config.policy) if include_disabled else config.policy
    trial_config = config.with_policy(policy)
    with Simulation(config, ManualClock(at)) as simulation:
        with simulation.runtime(trial_config) as runtime:
            parsed = runtime.intake.parse(raw)
            box = _mailbox(config, runtime, parsed, mailbox)
            [result] = runtime.intake.deliver(stored_delivery(raw, box, "smtp"))
        changes = simulation.changes()
        if result.outcome is Outcome.QUARANTINED:
            reason = (
                simulation.quarantine_reason(result.quarantine_id)
                if result.quarantine_id is not None
                else None
            )
            return MailTrial(
                at, box.address, parsed, result, changes, simulation.source, quarantine=reason
            )
        assert result.ticket_number is not None
        ticket = simulation.ticket(result.ticket_number)
        source = simulation.source
    assert ticket is not None
    notes = _notes(result, changes, ticket.number)
    outcomes: tuple[RuleOutcome, ...] = ()
    if not notes and result.outcome in (Outcome.NEW_TICKET, Outcome.REPLY):
        new = result.outcome is Outcome.NEW_TICKET
        kind = EventKind.CREATED if new else EventKind.CUSTOMER_REPLIED
        seen = _before_rules(ticket.rules_view(policy), changes.events_of(ticket.number))
        event = Event(
            kind=kind,
            sender=parsed.from_.key if parsed.from_ else "",
            subject=parsed.subject,
            body=parsed.new_text,  # rules match only new lines
            headers=parsed.headers,
            mailbox=box.address,
        )
        outcomes = tuple(explain(policy.rules, seen, event, include_disabled=include_disabled))
    return MailTrial(
        at=at,
        mailbox=box.address,
        parsed=parsed,
        result=result,
        changes=changes,
        source=source,
        ticket=ticket,
        rules=outcomes,
        notes=notes,
        sla=sla_report(ticket, policy, at),
    )


def _with_disabled_rules(policy: RulesConfig) -> RulesConfig:
    rules = tuple(rule.model_copy(update={"enabled": True}) for rule in policy.rules)
    trial = policy.model_copy(update={"rules": rules})
    trial.__dict__.pop("active_rules", None)  # a cached property copied from ``policy``
    return trial


def _mailbox(
    config: Config, runtime: Runtime, parsed: ParsedMail, wanted: str | None
) -> MailboxConfig:
    if wanted is not None:
        box = config.mailbox(wanted.strip().lower())
        if box is None:
            raise ValueError(f"not a configured mailbox: {wanted}")
        return box
    for address in (*parsed.to, *parsed.cc):
        recipient = runtime.intake.mailboxes.resolve(address.key)
        if recipient is not None:
            return recipient.mailbox
    return config.mailboxes[0]


def _notes(result: DeliveryResult, changes: Changes, number: int) -> tuple[str, ...]:
    """Why no rules ran on this mail, if none did."""
    if result.outcome is Outcome.DUPLICATE:
        return (f"a duplicate of mail stored on #{number}: nothing would change",)
    if result.automated is not None:
        return (f"automated mail ({result.automated}): stored, never answered, no rules run",)
    kinds = {message.kind for message in changes.messages if message.ticket == number}
    if kinds and MessageKind.CUSTOMER.value not in kinds:
        return ("mail from an agent: agent mail runs commands and relays, not the rules",)
    suspect = any(event.kind == "agent.spoofing_suspect" for event in changes.events_of(number))
    if suspect and result.outcome is Outcome.REPLY:
        return ("it claims an agent's address the trust rule rejects: held on the ticket",)
    return ()


def _before_rules(view: TicketView, events: Sequence[EventLine]) -> TicketView:
    """``view`` as the rules saw it: what rules changed and later rules read, put back."""
    restored: dict[str, object] = {}
    for event in events:
        field = _RULE_FIELDS.get(event.kind)
        if field is not None and event.actor.startswith(_RULE_ACTOR):
            restored.setdefault(field, event.data.get("from"))
    return dataclasses.replace(view, **restored) if restored else view


# --------------------------------------------------------------------------------------------
# maild sla sweep --at <future>


@dataclass(frozen=True)
class SweepTrial:
    at: datetime
    sweep: SweepReport
    auto_close: AutoCloseReport
    changes: Changes
    source: str
    idle: IdleReport | None = None


def simulate_sweep(config: Config, at: datetime) -> SweepTrial:
    """The SLA sweep, auto-close, the surveys due and the ``ticket.idle`` rules, as the
    scheduler would run them at ``at``."""
    from maild.scheduler import idle_job, sla_jobs, survey_job

    with Simulation(config, ManualClock(at)) as simulation:
        with simulation.runtime() as runtime:
            sweep, auto_close = sla_jobs(runtime)
            swept = sweep.run(at)
            closing = auto_close.run(at)
            survey_job(runtime).run(at)
            idle = idle_job(runtime).run(at)
        return SweepTrial(at, swept, closing, simulation.changes(), simulation.source, idle)
