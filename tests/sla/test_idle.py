"""``ticket.idle`` rules through real SMTP and the real sweep: a customer writes, the test
moves the daemon's clock and runs the SLA jobs (``run_sla_sweep``, as the scheduler does),
and an idle rule fires once per idle period; a new message starts a new one. Also: business
time over a weekend, statuses that are never idle, two sweeps at once, ``maild rules check``,
``maild sla sweep --at`` (a simulation), imported history and migration 0013's backfill."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, insert, select, text

from maild.cli import cli
from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from maild.runtime import Runtime
from maild.scheduler import idle_job
from maild.sla import IdleReport
from storage import idle, tickets
from storage.engine import DatabaseSettings, create_database_engine
from storage.models import Event, MessageKind, Ticket, TicketStatus
from storage.schema import alembic_config
from tests.conftest import config_data
from tests.importing.archives import thread_mail, write_mbox
from tests.importing.test_import import run_import
from tests.mails import customer_mail
from tests.sla.conftest import POLICY, delivered, edit, events, ticket
from tests.support import DaemonThread, Sink, write_toml

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the clock fixture's Monday morning
LEAD = "lead@example.com"
OFFICE = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
NUDGE = {
    "name": "nudge",
    "when": {"event": "ticket.idle"},
    "idle_for": "48h",
    "then": {"tags": ["idle"], "notify": [LEAD]},
}


def idle_data(tmp_path: Path, database_url: str, sink: Sink, *rules: dict[str, Any]) -> dict:
    data = config_data(tmp_path, database_url, sink.port)
    data.update(copy.deepcopy(POLICY))
    data["rules"] = list(rules)
    return data


def idle_config(tmp_path: Path, database_url: str, sink: Sink, *rules: dict[str, Any]) -> Config:
    return config_from_mapping(idle_data(tmp_path, database_url, sink, *rules))


def reply(n: int) -> bytes:
    """The customer's ``n``-th mail on ticket 1000, answering the first."""
    return customer_mail(
        subject="Re: [ACME #1000] Printer on fire",
        body=f"Any news? ({n})\n",
        message_id=f"<mail{n}@customer.example>",
        in_reply_to="<mail1@customer.example>",
        references="<mail1@customer.example>",
    )


def idle_columns(runtime: Runtime, number: int = 1000) -> tuple[datetime | None, Any]:
    with runtime.engine.connect() as connection:
        row = connection.execute(
            select(Ticket.last_message_at, Ticket.idle_fired).where(Ticket.number == number)
        ).one()
    return row[0], row[1]


def sweep(daemon: DaemonThread) -> IdleReport:
    """The scheduler's SLA jobs (SLA sweep, auto-close, surveys, idle rules); their idle part."""
    return daemon.service.run_sla_sweep().idle


def idle_sweep(daemon: DaemonThread) -> IdleReport:
    """The idle rules alone (the SLA sweep fires rules on ``"*"`` too, for its own events)."""
    return idle_job(daemon.runtime).run(daemon.runtime.clock.now())


def rule_events(runtime: Runtime, rule: str) -> int:
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(Event.data)).all()
    return sum(1 for (data,) in rows if (data or {}).get("rule") == rule)


@pytest.fixture
def daemon_with(
    tmp_path: Path, database_url: str, sink: Sink, start_daemon: Callable[[Config], DaemonThread]
) -> Callable[..., DaemonThread]:
    def start(*rules: dict[str, Any], **policy: Any) -> DaemonThread:
        data = idle_data(tmp_path, database_url, sink, *rules)
        data.update(policy)
        return start_daemon(config_from_mapping(data))

    return start


def test_idle_rule_fires_once_per_idle_period(
    daemon_with: Callable[..., DaemonThread], sink: Sink, clock: ManualClock
) -> None:
    daemon = daemon_with(NUDGE)
    runtime = daemon.runtime
    daemon.send(customer_mail(message_id="<mail1@customer.example>"))
    assert idle_columns(runtime) == (START, None)

    clock.advance(timedelta(hours=47, minutes=59))
    assert sweep(daemon).fired == 0
    clock.advance(timedelta(minutes=1))  # 48 hours without a message
    run = daemon.service.run_sla_sweep()
    assert (run.idle.quiet_tickets, run.idle.due_tickets, run.idle.fired) == (1, 1, 1)
    assert run.queued_mail
    assert "idle" in ticket(runtime, 1000).tags
    assert events(runtime, "ticket.idle") == [
        {"rule": "nudge", "idle_since": "2026-03-02T09:00:00+00:00", "idle_for": "48h"}
    ]
    [notice] = delivered(daemon, sink, "rule 'nudge' matched")
    assert notice.rcpt_tos == (LEAD,)
    assert "[ACME #1000]" in notice.message["Subject"]
    assert notice.message["Auto-Submitted"] == "auto-generated"
    assert "no message since 2026-03-02 09:00 UTC (idle_for 48h)" in notice.message.as_string()

    assert sweep(daemon).fired == 0  # a second sweep: the same idle period
    clock.advance(timedelta(hours=30))
    assert sweep(daemon).fired == 0  # still the same idle period

    daemon.send(reply(2))  # a new message: a new idle period starts
    replied = clock.now()
    assert idle_columns(runtime)[0] == replied
    clock.advance(timedelta(hours=47))
    assert sweep(daemon).fired == 0
    clock.advance(timedelta(hours=1))
    assert sweep(daemon).fired == 1
    assert [e["idle_since"] for e in events(runtime, "ticket.idle")] == [
        "2026-03-02T09:00:00+00:00",
        replied.isoformat(),
    ]
    assert len(delivered(daemon, sink, "rule 'nudge' matched")) == 2
    assert idle_columns(runtime)[1] == {"nudge": replied.isoformat()}


def test_business_time_rule_waits_out_the_weekend(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock
) -> None:
    wall = {"name": "wall", "when": {"event": "ticket.idle"}, "idle_for": "4h"}
    business = {
        "name": "business",
        "when": {"event": "ticket.idle"},
        "idle_for": {"after": "4h", "business_hours": True},
        "then": {"tags": ["waited"]},
    }
    daemon = daemon_with(
        wall,
        business,
        sla={"timezone": "UTC", "business_hours": OFFICE, "policies": POLICY["sla"]["policies"]},
    )
    clock.advance(datetime(2026, 3, 6, 15, 0, tzinfo=UTC) - clock.now())  # Friday 15:00
    daemon.send(customer_mail())
    # Two business hours on Friday, the weekend closed, two more on Monday morning.
    for at, fired in (
        (datetime(2026, 3, 6, 18, 59, tzinfo=UTC), []),
        (datetime(2026, 3, 6, 19, 0, tzinfo=UTC), ["wall"]),  # wall time runs on
        (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), []),  # Saturday
        (datetime(2026, 3, 8, 23, 0, tzinfo=UTC), []),  # Sunday night
        (datetime(2026, 3, 9, 10, 59, tzinfo=UTC), []),  # Monday
        (datetime(2026, 3, 9, 11, 0, tzinfo=UTC), ["business"]),
        (datetime(2026, 3, 12, 11, 0, tzinfo=UTC), []),
    ):
        before = len(events(daemon.runtime, "ticket.idle"))
        clock.advance(at - clock.now())
        sweep(daemon)
        assert [e["rule"] for e in events(daemon.runtime, "ticket.idle")[before:]] == fired, at
    assert "waited" in ticket(daemon.runtime, 1000).tags


def test_rules_not_naming_ticket_idle_never_fire_from_the_sweep(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock
) -> None:
    every = {"name": "every", "when": {"event": "*"}, "then": {"tags": ["seen"], "notify": [LEAD]}}
    daemon = daemon_with(every)
    daemon.send(customer_mail())
    fired_at_creation = rule_events(daemon.runtime, "every")
    assert fired_at_creation == 2  # tags.changed, notification.queued
    clock.advance(timedelta(days=30))
    report = idle_sweep(daemon)
    assert (report.quiet_tickets, report.due_tickets, report.fired) == (0, 0, 0)  # none read
    assert events(daemon.runtime, "ticket.idle") == []
    assert rule_events(daemon.runtime, "every") == fired_at_creation


def test_only_the_due_rule_runs_and_in_its_own_time(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock
) -> None:
    every = {"name": "every", "when": {"event": "*"}, "then": {"tags": ["seen"]}}
    sooner = {"name": "sooner", "when": {"event": "ticket.idle"}, "idle_for": "1h"}
    later = {**NUDGE, "idle_for": "3h"}
    daemon = daemon_with(every, later, sooner)
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, lambda e: e.change_tags(remove=["seen"]), "agent:x")
    clock.advance(timedelta(hours=1))
    assert idle_sweep(daemon).fired == 1
    assert [e["rule"] for e in events(daemon.runtime, "ticket.idle")] == ["sooner"]
    assert ticket(daemon.runtime, 1000).tags == []  # neither "every" nor "nudge" ran
    clock.advance(timedelta(hours=2))
    assert idle_sweep(daemon).fired == 1
    assert [e["rule"] for e in events(daemon.runtime, "ticket.idle")] == ["sooner", "nudge"]
    assert ticket(daemon.runtime, 1000).tags == ["idle"]


@pytest.mark.parametrize(
    ("status", "fires"),
    [(TicketStatus.PENDING, True), (TicketStatus.RESOLVED, False), (TicketStatus.CLOSED, False)],
)
def test_only_open_tickets_are_idle(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock, status: TicketStatus, fires: bool
) -> None:
    daemon = daemon_with(NUDGE)
    daemon.send(customer_mail())
    edit(daemon.runtime, 1000, lambda e: e.set_status(status), "agent:alice@example.com")
    clock.advance(timedelta(days=3))
    report = sweep(daemon)
    assert (report.quiet_tickets, report.fired) == ((1, 1) if fires else (0, 0))


def test_conditions_of_a_due_rule_still_apply_and_it_is_asked_once(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock
) -> None:
    urgent_only = {**NUDGE, "when": {"event": "ticket.idle", "priority": "urgent"}}
    daemon = daemon_with(urgent_only)
    daemon.send(customer_mail())
    clock.advance(timedelta(days=3))
    report = sweep(daemon)
    assert (report.due_tickets, report.fired) == (1, 0)
    assert events(daemon.runtime, "ticket.idle") == []
    assert sweep(daemon).due_tickets == 0  # not asked again in this idle period


def test_automated_mail_leaves_the_ticket_idle(
    daemon_with: Callable[..., DaemonThread], clock: ManualClock
) -> None:
    daemon = daemon_with(NUDGE)
    daemon.send(customer_mail(message_id="<mail1@customer.example>"))
    clock.advance(timedelta(hours=24))
    out_of_office = customer_mail(
        subject="Automatic reply: [ACME #1000] Printer on fire",
        body="I am out of the office.\n",
        in_reply_to="<mail1@customer.example>",
        headers={"Auto-Submitted": "auto-replied"},
    )
    daemon.send(out_of_office)
    assert idle_columns(daemon.runtime)[0] == START
    clock.advance(timedelta(hours=24))
    assert sweep(daemon).fired == 1


# --------------------------------------------------------------------------- the sweep alone


@pytest.fixture
def runtime(tmp_path: Path, database_url: str, sink: Sink) -> Iterator[Runtime]:
    with Runtime.open(idle_config(tmp_path, database_url, sink, NUDGE), ManualClock(START)) as rt:
        yield rt


def add_quiet_tickets(runtime: Runtime, count: int, since: datetime) -> None:
    rows = [
        {
            "number": 5000 + n,
            "token": f"token{n:04d}",
            "mailbox": "support@example.com",
            "subject": f"Ticket {n}",
            "status": "open",
            "priority": "medium",
            "requester": "ada@customer.example",
            "requester_name": "",
            "tags": [],
            "created_at": since,
            "updated_at": since,
            "last_message_at": since,
        }
        for n in range(count)
    ]
    with runtime.engine.begin() as connection:
        connection.execute(insert(Ticket.__table__), rows)


def test_two_sweeps_at_once_fire_each_rule_once(runtime: Runtime) -> None:
    add_quiet_tickets(runtime, 20, START)
    now = START + timedelta(days=2)
    start = threading.Barrier(2)
    fired: list[int] = []

    def run() -> None:
        job = idle_job(runtime)
        start.wait()
        fired.append(job.run(now).fired)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(fired) == 20
    assert len(events(runtime, "ticket.idle")) == 20
    assert idle_job(runtime).run(now + timedelta(days=9)).fired == 0


def test_a_message_between_the_read_and_the_write_cancels_the_rule(runtime: Runtime) -> None:
    add_quiet_tickets(runtime, 1, START)
    now = START + timedelta(days=2)
    job, policy = idle_job(runtime), runtime.policy.current
    _, [(ticket_id, _number)] = job.find_due(now, policy)
    with runtime.engine.begin() as connection:
        idle.message_stored(connection, ticket_id, now - timedelta(minutes=1))
        idle.message_stored(connection, ticket_id, START)  # older: changes nothing
    assert job.fire(ticket_id, now, policy) == 0
    assert events(runtime, "ticket.idle") == []
    assert job.fire(ticket_id, now + timedelta(days=2), policy) == 1


# --------------------------------------------------------------------------- the command line


def test_rules_check_rejects_a_bad_idle_for_naming_rule_and_key(
    tmp_path: Path, database_url: str, sink: Sink
) -> None:
    def check(*rules: dict[str, Any]) -> Any:
        path = tmp_path / "maild.toml"
        write_toml(idle_data(tmp_path, database_url, sink, *rules), path)
        return CliRunner().invoke(cli, ["-c", str(path), "rules", "check"])

    result = check(NUDGE, {**NUDGE, "name": "stale", "idle_for": "two days"})
    assert result.exit_code == 1
    assert (
        "  rules[1].idle_for: rule 'stale': expected a duration like '90m', '4h', '3d' or '1w', "
        "got 'two days'\n"
    ) in result.stderr
    result = check({"name": "waiting", "when": {"event": "ticket.idle"}, "then": {"tags": ["x"]}})
    assert result.exit_code == 1
    assert "  rules[0].idle_for: rule 'waiting' fires on ticket.idle: it needs idle_for" in (
        result.stderr
    )
    result = check({**NUDGE, "when": {"event": "ticket.customer_replied"}})
    assert "rules[0].idle_for: rule 'nudge' has idle_for but does not fire on ticket.idle" in (
        result.stderr
    )
    result = check(NUDGE)
    assert result.exit_code == 0, result.output


def test_sla_sweep_at_a_time_to_come_shows_the_idle_rules_and_stores_nothing(
    tmp_path: Path,
    database_url: str,
    sink: Sink,
    daemon_with: Callable[..., DaemonThread],
) -> None:
    daemon = daemon_with(NUDGE)
    daemon.send(customer_mail())
    path = tmp_path / "maild.toml"
    write_toml(idle_data(tmp_path, database_url, sink, NUDGE), path)
    runner = CliRunner()
    result = runner.invoke(cli, ["-c", str(path), "sla", "sweep", "--at", "2099-01-01T00:00"])
    assert result.exit_code == 0, result.output
    assert "idle rules: 1 would fire" in result.stdout
    assert "#1000 ticket.idle: rule nudge, idle_since 2026-03-02T09:00:00+00:00" in result.stdout
    assert f"notification to {LEAD}" in result.stdout
    result = runner.invoke(
        cli, ["-c", str(path), "sla", "sweep", "--json", "--at", "2099-01-01T00:00"]
    )
    shown = json.loads(result.stdout)
    assert shown["simulated"] and shown["idle_rules_fired"] == 1
    assert "ticket.idle" in [event["kind"] for event in shown["events"]]
    assert events(daemon.runtime, "ticket.idle") == []
    assert idle_columns(daemon.runtime)[1] is None


def test_imported_history_sets_off_no_idle_rule(
    tmp_path: Path, database_url: str, sink: Sink
) -> None:
    year_ago = (datetime.now(UTC) - timedelta(days=365)).replace(microsecond=0)
    path = tmp_path / "maild.toml"
    write_toml(idle_data(tmp_path, database_url, sink, NUDGE), path)
    mbox = write_mbox(
        tmp_path / "history.mbox",
        [
            thread_mail(1, date=(year_ago).strftime("%a, %d %b %Y %H:%M:%S +0000")),
            thread_mail(
                2,
                parent=1,
                date=(year_ago + timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            ),
        ],
    )
    run_import(path, str(mbox), "--status", "keep-open")
    result = CliRunner().invoke(cli, ["-c", str(path), "sla", "sweep", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["idle_rules_fired"] == 0
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            last, fired = connection.execute(
                select(Ticket.last_message_at, Ticket.idle_fired)
            ).one()
    finally:
        engine.dispose()
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    assert last == year_ago + timedelta(hours=3)
    assert fired == {"nudge": last.isoformat()}


# --------------------------------------------------------------------------- migration 0013


def test_migration_fills_in_the_last_message_of_each_ticket(database_url: str) -> None:
    engine: Engine = create_database_engine(DatabaseSettings(database_url))
    try:
        command.upgrade(alembic_config(engine), "0012")
        with engine.begin() as connection:
            answered = _old_ticket(connection, 1000)
            for n, (kind, minutes) in enumerate(
                [(MessageKind.CUSTOMER, 0), (MessageKind.AGENT, 90), (MessageKind.SYSTEM, 200)]
            ):
                _old_message(connection, answered, n, kind, START + timedelta(minutes=minutes))
            _old_ticket(connection, 1001)  # no message at all
        command.upgrade(alembic_config(engine), "0013")
        with engine.connect() as connection:
            found = dict(
                connection.execute(
                    text("SELECT number, last_message_at FROM tickets ORDER BY number")
                ).all()
            )
        assert {number: _utc(value) for number, value in found.items()} == {
            1000: START + timedelta(minutes=90),  # the agent's; the auto-reply does not count
            1001: START - timedelta(days=1),  # its creation
        }
    finally:
        engine.dispose()


def _old_ticket(connection: Any, number: int) -> int:
    at = (START - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    if connection.dialect.name != "sqlite":
        at += "+00:00"
    connection.execute(
        text(
            "INSERT INTO tickets (number, token, mailbox, subject, status, priority, requester,"
            " requester_name, created_at, updated_at) VALUES (:number, :token, 'support@"
            "example.com', 'old', 'open', 'medium', 'ada@customer.example', '', :at, :at)"
        ),
        {"number": number, "token": f"token{number}", "at": at},
    )
    return connection.execute(
        text("SELECT id FROM tickets WHERE number = :number"), {"number": number}
    ).scalar_one()


def _old_message(connection: Any, ticket_id: int, n: int, kind: MessageKind, at: datetime) -> None:
    tickets.insert_message(
        connection,
        ticket_id=ticket_id,
        kind=kind,
        mailbox="support@example.com",
        dedup_key=f"<old{n}@x>",
        message_id=f"<old{n}@x>",
        from_address="ada@customer.example",
        from_name="",
        subject="old",
        body="old",
        reply_text="old",
        automated=None,
        raw=b"",
        sent_at=None,
        created_at=at,
    )


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
