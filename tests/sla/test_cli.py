"""``maild sla show`` and ``maild sla sweep`` on a ticket the daemon stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select

from maild.cli import cli
from maild.sla.sweep import sla_duration
from rules.businesstime import BusinessCalendar
from storage.models import Event, OutboxMessage, Ticket
from tests.conftest import config_data
from tests.mails import customer_mail
from tests.sla.conftest import POLICY
from tests.support import DaemonThread, Sink, write_toml


def cli_config(tmp_path: Path, database_url: str, sink: Sink) -> Path:
    """The daemon's configuration as a file (the SLA table written out by hand: the test
    TOML writer knows no nested tables)."""
    data = config_data(tmp_path, database_url, sink.port)
    data["teams"] = POLICY["teams"]
    data["agents"] = POLICY["agents"]
    path = tmp_path / "maild.toml"
    write_toml(data, path)
    with path.open("a") as out:
        out.write('[sla.policies.medium]\nfirst_response = "1h"\nresolution = "8h"\n')
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-c", str(path), "sla", *args])
    return result.exit_code, result.stdout if result.exit_code == 0 else result.output


def test_sla_show_and_sweep(
    daemon: DaemonThread, sink: Sink, tmp_path: Path, database_url: str
) -> None:
    daemon.send(customer_mail())  # ticket 1000 at 2026-03-02 09:00 UTC
    path = cli_config(tmp_path, database_url, sink)

    code, output = run(path, "show", "1000", "--json", "--at", "2026-03-02T09:50:00+00:00")
    assert code == 0, output
    shown = json.loads(output)
    assert shown["state"] == "at_risk"
    first, resolution = shown["targets"]
    assert first["target"] == "first_response"
    assert first["deadline"] == "2026-03-02T10:00:00+00:00"
    assert first["warn_at"] == "2026-03-02T09:45:00+00:00"
    assert (first["elapsed_seconds"], first["remaining_seconds"]) == (3000, 600)
    assert first["state"] == "at_risk"
    assert resolution["deadline"] == "2026-03-02T17:00:00+00:00"
    assert resolution["state"] == "on_track"
    assert shown["paused"] is False and shown["paused_seconds"] == 0

    code, output = run(path, "show", "1000", "--at", "2026-03-02T09:50:00")
    assert code == 0, output
    assert "SLA at risk" in output
    assert "first response" in output

    code, output = run(path, "sweep", "--json", "--at", "2026-03-02T10:01:00Z")
    assert code == 0, output
    swept = json.loads(output)
    assert (swept["open_tickets"], swept["due_tickets"], swept["fired"]) == (1, 1, 2)
    code, output = run(path, "sweep", "--json", "--at", "2026-03-02T10:02:00Z")
    assert json.loads(output)["fired"] == 0

    code, output = run(path, "show", "1000", "--json", "--at", "2026-03-02T10:01:00Z")
    shown = json.loads(output)
    assert shown["state"] == "breached"
    assert shown["fired"] == ["first_response.breach", "first_response.warning"]

    code, output = run(path, "show", "9999")
    assert code == 1
    assert "no ticket #9999" in output


def live_rows(database_url: str) -> dict[str, object]:
    """What a sweep stores: the fired keys, SLA events and queued SLA mail."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                "fired": connection.execute(select(Ticket.sla_fired)).scalars().all(),
                "events": connection.execute(
                    select(Event.kind).where(Event.kind.like("sla.%"))
                ).all(),
                "mail": connection.execute(
                    select(OutboxMessage.kind).where(OutboxMessage.kind.like("sla%"))
                ).all(),
                "tickets": connection.execute(select(Ticket.tier, Ticket.priority)).all(),
            }
    finally:
        engine.dispose()


def test_sweep_at_a_time_still_to_come_prints_what_would_fire_and_stores_nothing(
    daemon: DaemonThread, sink: Sink, tmp_path: Path, database_url: str
) -> None:
    """Regression: ``--at`` a future time fired for real, and queued mail due then, which
    the running daemon sent days late."""
    daemon.send(customer_mail())  # ticket 1000 at 2026-03-02 09:00 UTC, 1 h / 8 h
    path = cli_config(tmp_path, database_url, sink)
    before = live_rows(database_url)
    future = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)

    code, output = run(path, "sweep", "--json", "--at", future.isoformat())
    assert code == 0, output
    swept = json.loads(output)
    assert swept["simulated"] is True
    assert (swept["open_tickets"], swept["due_tickets"], swept["fired"]) == (1, 1, 4)
    assert sorted(
        (event["kind"], event["data"]["target"])
        for event in swept["events"]
        if event["kind"].startswith("sla.")
    ) == [
        ("sla.breached", "first_response"),
        ("sla.breached", "resolution"),
        ("sla.warning", "first_response"),
        ("sla.warning", "resolution"),
    ]
    # Each breach to every agent (nobody has the ticket); warnings the breach overtook
    # send nothing of their own.
    assert sorted((mail["kind"], *mail["to"]) for mail in swept["would_send"]) == [
        ("sla_breach", "alice@example.com"),
        ("sla_breach", "alice@example.com"),
        ("sla_breach", "bob@example.com"),
        ("sla_breach", "bob@example.com"),
    ]
    assert {mail["send_at"] for mail in swept["would_send"]} == {future.isoformat()}
    assert live_rows(database_url) == before  # nothing fired, escalated or queued

    code, output = run(path, "sweep", "--at", future.isoformat())
    assert code == 0, output
    assert "a time still to come" in output and "nothing was stored" in output
    assert "#1000 sla.breached" in output and "sla_breach to alice@example.com" in output
    assert live_rows(database_url) == before

    # A time that has come fires for real, as before.
    code, output = run(path, "sweep", "--json", "--at", "2026-03-02T10:01:00Z")
    assert json.loads(output)["simulated"] is False
    assert json.loads(output)["fired"] == 2
    assert live_rows(database_url)["fired"] == [["first_response.warning", "first_response.breach"]]


def test_sla_show_reads_business_time_as_business_time(
    daemon: DaemonThread, sink: Sink, tmp_path: Path, database_url: str
) -> None:
    """Regression: a 72-hour target in business hours printed as ``3 d``."""
    daemon.send(customer_mail())  # Monday 2026-03-02 09:00 UTC
    data = config_data(tmp_path, database_url, sink.port)
    path = tmp_path / "business.toml"
    write_toml(data, path)
    weekdays = ", ".join(f'{day} = "09:00-17:00"' for day in ("mon", "tue", "wed", "thu", "fri"))
    with path.open("a") as out:
        out.write(f"[sla]\nbusiness_hours = {{ {weekdays} }}\n")
        out.write('[sla.policies.medium]\nfirst_response = "8h"\nresolution = "72h"\n')

    code, output = run(path, "show", "1000", "--json", "--at", "2026-03-02T10:30:00Z")
    assert code == 0, output
    goals = {target["target"]: target["goal"] for target in json.loads(output)["targets"]}
    assert goals == {"first_response": "8 h business", "resolution": "72 h business"}

    wide = CliRunner().invoke(
        cli,
        ["-c", str(path), "sla", "show", "1000", "--at", "2026-03-02T10:30:00Z"],
        env={"COLUMNS": "200"},
    )
    assert wide.exit_code == 0, wide.output
    assert "72 h business" in wide.stdout and "1 h 30 min business" in wide.stdout  # elapsed
    assert "3 d" not in wide.stdout

    # Around the clock, business time is clock time: the words stay as they were.
    code, output = run(cli_config(tmp_path, database_url, sink), "show", "1000", "--json")
    assert {target["goal"] for target in json.loads(output)["targets"]} == {"1 h", "8 h"}


def test_sla_duration_marks_business_time() -> None:
    business = BusinessCalendar({day: [(540, 1020)] for day in range(5)}, "UTC")
    always = BusinessCalendar.always()
    assert sla_duration(timedelta(hours=72), business) == "72 h business"
    assert sla_duration(timedelta(hours=1, minutes=30), business) == "1 h 30 min business"
    assert sla_duration(timedelta(minutes=45), business) == "45 min business"
    assert sla_duration(timedelta(hours=72), always) == "3 d"
    holidays = BusinessCalendar(always.hours, "UTC", frozenset({date(2026, 12, 25)}))
    assert sla_duration(timedelta(hours=72), holidays) == "72 h business"
