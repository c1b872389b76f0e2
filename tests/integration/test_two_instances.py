"""Two ``maild serve`` on one PostgreSQL database, as behind two MX hosts (issue 15).

2,000 mails of the benchmark's corpus (threads with their replies) go to both instances, a
tenth of the new threads to both at once (as two MX hosts both get a message), while the
second instance is SIGKILLed and started again five times, and both run the SLA sweep and
auto-close every two seconds. A sender treats a refused connection or a 4xx as an MTA
does: it tries the other host. The relay is an aiosmtpd sink in this process.

At the end: every message that got ``250`` is stored exactly once, on the ticket its reply
named; no sender ever got a 5xx; every outbox row was sent, and sent once, except a row that
an instance killed had claimed (DECISIONS: a repeat is allowed only for mail being sent when
an instance died) — each kill may account for one such repeat; every SLA warning and
breach fired once; ticket numbers are unique; round robin gave every ticket the next turn.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import itertools
import re
import smtplib
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, create_engine, select, text

from bench.corpus import CorpusMail, generate
from maild.clock import ManualClock
from maild.config import OutboundSection, config_from_mapping
from maild.database import open_engine
from maild.pipeline.delivery import Delivery, Outcome
from maild.runtime import Runtime
from storage.models import Event, Message, OutboxMessage, Ticket
from storage.schema import ensure_current
from tests.conftest import POSTGRES_URL, REQUIRE_INTEGRATION, _reset_postgres, config_data
from tests.integration.daemons import MaildProcess, free_port
from tests.mails import customer_mail
from tests.support import Sink, eventually, write_toml

pytestmark = pytest.mark.integration

MAILBOX = "support@example.com"
MAILS = 2000
BOTH = 200  # new threads whose first mail goes to both instances
CLIENTS = 4  # sending connections, two per instance (each fails over to the other)
KILLS = 5
KILL_EVERY = 2.5  # seconds between a restart and the next SIGKILL
OUTBOX_LEASE = 3  # seconds: a row the killed instance claimed is sent again after this
SEEDED = 40  # tickets created before the run, their SLA breaches due during it
SEED_SPACING = timedelta(seconds=0.5)
FIRST_RESPONSE = timedelta(minutes=10)  # [sla] medium; the warning is due at half of it
AGENTS = ["alice@example.com", "bob@example.com", "carol@example.com"]
SECRET = "two-instances-test-secret"
SEND_ATTEMPTS = 60  # per message, alternating the hosts, as an MTA's queue would
DONE_TIMEOUT = 90.0


def postgres_url() -> str:
    if not POSTGRES_URL:
        reason = "PostgreSQL: set MAILD_TEST_DATABASE_URL to run two instances on one database"
        if REQUIRE_INTEGRATION:
            pytest.fail(f"MAILD_REQUIRE_INTEGRATION=1 but {reason}")
        pytest.skip(reason)
    return POSTGRES_URL


def outbox_lease(seconds: int) -> dict[str, Any]:
    """``[outbound] lease`` (DECISIONS "Several instances") set to ``seconds``."""
    if "lease" not in OutboundSection.model_fields:
        pytest.fail("[outbound] lease is missing: the test needs a short outbox lease")
    for value in (f"{seconds}s", float(seconds)):
        try:
            OutboundSection(lease=value)
        except ValidationError:
            continue
        return {"lease": value}
    pytest.fail(f"[outbound] lease takes neither {seconds}s nor {seconds}.0")


def instance_data(base: Path, url: str, relay_port: int, smtp_port: int) -> dict[str, Any]:
    """One instance's configuration: its own data folder and port, the shared database."""
    return config_data(
        base,
        url,
        relay_port,
        maild={"secret_env": "MAILD_TEST_SECRET"},
        # Longer than one group's transaction of the other instance (it holds the ticket
        # counter until it commits).
        database={"busy_timeout": 5.0},
        smtp={"listen": f"127.0.0.1:{smtp_port}", "lmtp_listen": ""},
        outbound={"flush_interval": 0.5, **outbox_lease(OUTBOX_LEASE)},
        scheduler={"sla_interval": 2.0},
        # Set explicitly (DECISIONS "Limits"): the corpus has senders with many threads.
        limits={"new_tickets_per_sender_per_hour": 0},
        agents=[{"address": a, "name": a.split("@")[0], "teams": ["support"]} for a in AGENTS],
        teams=[{"name": "support"}],
        assignment={"strategy": "round_robin"},
        rules=[{"name": "to-support", "then": {"assign": "support"}}],
        sla={"warn_at": 0.5, "policies": {"medium": {"first_response": "10m"}}},
    )


def seed_overdue_tickets(data: dict[str, Any], now: datetime) -> list[int]:
    """Tickets created before the run (through intake, at an earlier clock): their SLA
    warnings are due at once, their breaches one every SEED_SPACING from ``now`` on."""
    clock = ManualClock(now - FIRST_RESPONSE)
    numbers = []
    with Runtime.open(config_from_mapping(data), clock) as runtime:
        for k in range(SEEDED):
            clock.advance(SEED_SPACING)
            raw = customer_mail(
                subject=f"Still waiting {k}",
                sender=f"Late {k} <late{k}@customer.example>",
                message_id=f"<seed-{k}@customer.example>",
            )
            delivery = Delivery(raw, f"late{k}@customer.example", (MAILBOX,), "smtp")
            [result] = runtime.intake.submit(delivery).result(30)
            assert result.outcome is Outcome.NEW_TICKET
            assert result.ticket_number is not None
            numbers.append(result.ticket_number)
    return numbers


# ------------------------------------------------------------------------------------------
# The senders: MTAs that fail over to the other host


@dataclass(frozen=True)
class Reply:
    index: int  # corpus index
    host: int
    code: int
    text: str


class Sender:
    """Sends its share over one connection per host; on a refused connection, a broken one
    or a 4xx it tries the other host, as an MTA with two MX records would."""

    def __init__(self, ports: list[int], replies: list[Reply], lock: threading.Lock) -> None:
        self.ports = ports
        self.replies = replies
        self.lock = lock
        self.connections: dict[int, smtplib.SMTP] = {}
        self.failures = 0  # attempts that ended without an answer (host down, reset)

    def deliver(self, mail: CorpusMail, host: int) -> None:
        for attempt in range(SEND_ATTEMPTS):
            answer = self._attempt(mail, host)
            if answer is not None:
                with self.lock:
                    self.replies.append(Reply(mail.index, host, *answer))
                if answer[0] < 400 or answer[0] >= 500:
                    return
            host = 1 - host
            time.sleep(0.02 * min(attempt + 1, 10))  # an MTA's retry pacing, not a clock
        raise AssertionError(f"mail #{mail.index} was never accepted")

    def _attempt(self, mail: CorpusMail, host: int) -> tuple[int, str] | None:
        try:
            smtp = self.connections.get(host)
            if smtp is None:
                smtp = smtplib.SMTP("127.0.0.1", self.ports[host], timeout=30)
                smtp.ehlo(f"mta{host}.customer.example")
                self.connections[host] = smtp
            code, reply = smtp.mail(mail.mail_from)
            if code == 250:
                code, reply = smtp.rcpt(MAILBOX)
            if code == 250:
                code, reply = smtp.data(mail.raw)
            if code != 250:
                smtp.rset()
            return code, reply.decode("utf-8", "replace")
        except (OSError, smtplib.SMTPException):
            self.failures += 1
            self.close(host)
            return None

    def close(self, host: int | None = None) -> None:
        for number in [host] if host is not None else list(self.connections):
            smtp = self.connections.pop(number, None)
            if smtp is not None:
                with contextlib.suppress(OSError, smtplib.SMTPException):
                    smtp.close()


# ------------------------------------------------------------------------------------------
# Reading the outcome


def leased_outbox_rows(engine: Engine) -> set[int]:
    """Outbox rows claimed and not yet recorded: what an instance killed now may have been
    sending."""
    with engine.connect() as connection:
        return set(
            connection.execute(
                text(
                    "SELECT id FROM outbox WHERE status = 'pending' AND attempts > 0 "
                    "AND next_attempt_at > now()"
                )
            ).scalars()
        )


def outbox_history(daemons: list[MaildProcess], rows: Iterable[int]) -> str:
    """The daemons' log lines about ``rows``: who claimed, sent and recorded them when."""
    wanted = tuple(f"outbox #{row_id} " for row_id in rows)
    return "\n".join(
        f"mx{n + 1}: {line}"
        for n, daemon in enumerate(daemons)
        for line in daemon.text().splitlines()
        if any(mark in line for mark in wanted) or "lease half over" in line or "recording" in line
    )


def message_id_of(raw: bytes) -> str:
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
    return str(headers["Message-ID"] or "").strip()


def delivered_counts(sink: Sink) -> Counter[tuple[str, tuple[str, ...]]]:
    """How often the relay got each (Message-ID, recipients)."""
    return Counter(
        (message_id_of(received.raw), tuple(sorted(received.rcpt_tos)))
        for received in sink.received
    )


def round_robin_breaks(assignees: list[str]) -> list[tuple[int, str, str]]:
    """Where the assignee in ticket-number order is not the next agent after the last."""
    breaks = []
    for position, (before, after) in enumerate(itertools.pairwise(assignees)):
        if after != AGENTS[(AGENTS.index(before) + 1) % len(AGENTS)]:
            breaks.append((position + 1, before, after))
    return breaks


STORED = re.compile(r"ticket #(\d+)")


def test_two_instances_on_one_database_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    url = postgres_url()
    _reset_postgres(url)
    sink = Sink().start()
    ports = [free_port(), free_port()]
    configs = []
    for n, port in enumerate(ports):
        data = instance_data(tmp_path / f"mx{n + 1}", url, sink.port, port)
        path = tmp_path / f"mx{n + 1}.toml"
        write_toml(data, path)
        configs.append((data, path))
    engine = create_engine(url)
    setup_engine = open_engine(config_from_mapping(configs[0][0]))
    ensure_current(setup_engine)  # once, before two daemons would race to create it
    setup_engine.dispose()

    started = time.monotonic()
    seeded = seed_overdue_tickets(configs[0][0], datetime.now(UTC))
    env = {"MAILD_TEST_SECRET": SECRET}
    daemons = [
        MaildProcess(path, port, tmp_path / f"mx{n + 1}.log", env).start()
        for n, ((_, path), port) in enumerate(zip(configs, ports, strict=True))
    ]
    replies: list[Reply] = []
    lock = threading.Lock()
    senders: list[Sender] = []
    snapshots: list[set[int]] = []
    try:
        for daemon in daemons:
            daemon.wait_ready()
        corpus = generate(MAILS, seed=15, mailbox=MAILBOX)
        starters = [mail for mail in corpus if mail.parent_index is None]
        both = {mail.index for mail in starters[:: max(1, len(starters) // BOTH)][:BOTH]}
        assert len(both) == BOTH

        def send_share(client: int) -> None:
            sender = Sender(ports, replies, lock)
            senders.append(sender)
            try:
                for mail in corpus:
                    if mail.thread % CLIENTS == client:
                        sender.deliver(mail, client % 2)
            finally:
                sender.close()

        def send_copies(client: int) -> None:
            """The second MX host's copy of the mails sent to both."""
            sender = Sender(ports, replies, lock)
            senders.append(sender)
            try:
                for mail in corpus:
                    if mail.thread % CLIENTS == client and mail.index in both:
                        sender.deliver(mail, 1 - client % 2)
            finally:
                sender.close()

        def kill_and_restart() -> None:
            victim = daemons[1]
            for _ in range(KILLS):
                time.sleep(KILL_EVERY)
                victim.kill()
                snapshots.append(leased_outbox_rows(engine))
                victim.start().wait_ready()

        threads = [threading.Thread(target=send_share, args=(c,)) for c in range(CLIENTS)]
        threads += [threading.Thread(target=send_copies, args=(c,)) for c in range(CLIENTS)]
        killer = threading.Thread(target=kill_and_restart)
        stream_started = time.monotonic()
        for thread in [*threads, killer]:
            thread.start()
        for thread in threads:
            thread.join(DONE_TIMEOUT)
            assert not thread.is_alive(), "a sender did not finish"
        stream_seconds = time.monotonic() - stream_started
        killer.join(DONE_TIMEOUT)
        assert not killer.is_alive()
        assert len(snapshots) == KILLS

        # Every seeded breach comes due and fires; then everything queued goes out (a row
        # the killed instance claimed, after its lease).
        def nothing_pending() -> bool:
            with engine.connect() as connection:
                return not connection.execute(
                    text("SELECT count(*) FROM outbox WHERE status = 'pending'")
                ).scalar_one()

        def breaches_fired() -> bool:
            with engine.connect() as connection:
                breached = connection.execute(
                    text("SELECT count(DISTINCT ticket_id) FROM events WHERE kind = 'sla.breached'")
                ).scalar_one()
            return breached >= SEEDED

        assert eventually(breaches_fired, DONE_TIMEOUT), "seeded SLA breaches did not fire"
        assert eventually(nothing_pending, DONE_TIMEOUT), "outbox rows still pending"
        for daemon in daemons:
            assert daemon.stop() == 0, daemon.tail()
    finally:
        for daemon in daemons:
            daemon.kill()
        for sender in senders:
            sender.close()
        sink.stop()
    total_seconds = time.monotonic() - started

    # --- every message that got 250 is stored once, on the ticket the 250 named
    assert not [r for r in replies if r.code >= 500], "a sender got a permanent failure"
    accepted = [r for r in replies if r.code == 250]
    assert {r.index for r in accepted} == {mail.index for mail in corpus}
    message_ids = {mail.index: mail.message_id for mail in corpus}
    with engine.connect() as connection:
        stored = connection.execute(
            select(Message.message_id, Ticket.number)
            .join(Ticket, Ticket.id == Message.ticket_id)
            .where(Message.mailbox == MAILBOX)
        ).all()
        tickets = connection.execute(
            select(Ticket.id, Ticket.number, Ticket.assignee).order_by(Ticket.number)
        ).all()
        outbox = connection.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.ticket_id,
                OutboxMessage.kind,
                OutboxMessage.message_id,
                OutboxMessage.recipients,
                OutboxMessage.status,
            )
        ).all()
        sla_events = connection.execute(
            select(Event.ticket_id, Event.kind, Event.data).where(
                Event.kind.in_(["sla.warning", "sla.breached"])
            )
        ).all()
    engine.dispose()
    copies = Counter(message_id for message_id, _ in stored)
    assert [m for m, count in copies.items() if count > 1] == []
    ticket_of = dict(stored)
    assert set(message_ids.values()) <= set(ticket_of)
    wrong_ticket = [
        (r.index, r.text)
        for r in accepted
        if (named := STORED.search(r.text)) is None
        or int(named.group(1)) != ticket_of[message_ids[r.index]]
    ]
    assert wrong_ticket == []

    # --- ticket numbers are unique; round robin gave each ticket the next turn
    numbers = [number for _, number, _ in tickets]
    assert len(numbers) == len(set(numbers))
    assert min(numbers) >= 1000
    assignees = [assignee for _, _, assignee in tickets if assignee is not None]
    assert len(assignees) == len(tickets)
    assert round_robin_breaks(assignees) == []
    turns = Counter(assignees)
    assert max(turns.values()) - min(turns.values()) <= 1

    # --- every SLA warning and breach fired once; every seeded breach fired
    fired = Counter((ticket_id, kind, data.get("target")) for ticket_id, kind, data in sla_events)
    assert [key for key, count in fired.items() if count > 1] == []
    number_of = {ticket_id: number for ticket_id, number, _ in tickets}
    breached = {number_of[t] for t, kind, _ in fired if kind == "sla.breached"}
    assert set(seeded) <= breached

    # --- every outbox row was sent, once; a repeat only for a row a killed instance held
    delivered = delivered_counts(sink)
    key_of = {row.id: (row.message_id, tuple(sorted(row.recipients))) for row in outbox}
    repeated = {row_id: delivered[key] - 1 for row_id, key in key_of.items() if delivered[key] > 1}
    held_at_kill: dict[int, list[int]] = defaultdict(list)
    for kill, rows in enumerate(snapshots):
        for row_id in rows:
            held_at_kill[row_id].append(kill)
    log_text = "\n".join(daemon.text() for daemon in daemons)
    print(
        f"\ntwo instances: {MAILS} mails ({BOTH} to both) in {stream_seconds:.1f} s "
        f"({MAILS / stream_seconds:.0f} msg/s), {len(accepted)} 250s, "
        f"{sum(1 for r in replies if 400 <= r.code < 500)} 4xx, "
        f"{sum(s.failures for s in senders)} attempts without an answer; {KILLS} kills "
        f"holding {[len(rows) for rows in snapshots]} outbox rows; {len(tickets)} tickets; "
        f"{len(outbox)} outbox rows, {sum(repeated.values())} sent again after a kill; "
        f"{len(fired)} SLA events; {log_text.count('lost to a concurrent one')} groups run "
        f"again after a conflict; {total_seconds:.1f} s in all"
    )
    assert {row.status for row in outbox} == {"sent"}
    acknowledgements = Counter(row.ticket_id for row in outbox if row.kind == "acknowledgement")
    assert [t for t, count in acknowledgements.items() if count > 1] == []
    assert [row_id for row_id, key in key_of.items() if delivered[key] == 0] == []
    assert set(delivered) <= set(key_of.values())  # nothing the outbox does not know
    assert [row_id for row_id in repeated if row_id not in held_at_kill] == []
    assert all(repeats <= len(held_at_kill[row_id]) for row_id, repeats in repeated.items())
    # One message at a time is on its way to the relay: each kill may repeat that one.
    by_kill = Counter(held_at_kill[row_id][0] for row_id in repeated)
    assert max(by_kill.values(), default=0) <= 1, (
        f"sent again after kill number: {dict(by_kill)} (rows {sorted(repeated)})\n"
        + outbox_history(daemons, repeated)
    )

    assert "intake transaction failed" not in log_text  # a bug in the writer
