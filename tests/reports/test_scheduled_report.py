"""A ``[[reports]]`` entry through the real daemon: mail over SMTP makes the history, the
scheduled run mails the report to the sink, once per period, with its charts inline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from tests.agents.conftest import agents_data
from tests.agents.helpers import open_ticket, send_as_agent, ticket
from tests.agents.mails import agent_mail
from tests.support import DaemonThread, Received, Sink, eventually

BERLIN = ZoneInfo("Europe/Berlin")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # a Monday


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    data = agents_data(tmp_path, database_url, sink)
    data["sla"] = {"timezone": "Europe/Berlin"}
    data["reports"] = [
        {
            "name": "daily-sla",
            "schedule": "daily 06:00",
            "recipients": ["lead@example.com", "Head@Example.com"],
        },
        {
            "name": "weekly-csat",
            "schedule": "weekly mon 08:00",
            "recipients": ["lead@example.com"],
            "sections": ["satisfaction", "agents"],
        },
    ]
    return config_from_mapping(data)


@pytest.fixture
def daemon(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()


def reports(sink: Sink) -> list[Received]:
    return [r for r in sink.received if str(r.message["Subject"]).startswith("Report ")]


def parts(message: EmailMessage) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for part in message.walk():
        found.setdefault(part.get_content_type(), []).append(part)
    return found


def test_the_daily_report_arrives_with_its_charts_once(
    daemon: DaemonThread, clock: ManualClock, sink: Sink
) -> None:
    open_ticket(daemon)
    record = ticket(daemon, 1000)
    to = f"support+{record.token}@example.com"
    clock.advance(timedelta(hours=2))
    send_as_agent(daemon, agent_mail("#status resolved\nAll fixed.", to=to), to)
    assert str(ticket(daemon, 1000).status) == "resolved"

    clock.advance(datetime(2026, 3, 3, 5, 0, tzinfo=UTC) - clock.now())  # Tue 06:00 Berlin
    scheduler = daemon.service.scheduler
    assert scheduler is not None
    sent = scheduler.send_report("daily-sla")
    assert sent.period.label == "2026-03-02"
    assert sorted(sent.sent_to) == ["head@example.com", "lead@example.com"]
    daemon.flush_outbox()
    assert eventually(lambda: len(reports(sink)) == 2)
    assert sorted(address for mail in reports(sink) for address in mail.rcpt_tos) == [
        "head@example.com",
        "lead@example.com",
    ]
    message = reports(sink)[0].message
    assert message["Subject"] == "Report daily-sla: 2026-03-02 (day, Europe/Berlin)"
    assert message["Auto-Submitted"] == "auto-generated"

    found = parts(message)
    text = message.get_body(("plain",)).get_content()
    lines = {" ".join(line.split()) for line in text.splitlines()}
    assert {"created 1", "resolved 1", "backlog at the end 0"} <= lines
    assert "First-response targets met: 100% (1 of 1)" in lines

    assert "multipart/related" in found
    html = message.get_body(("html",)).get_content()
    images = found["image/png"]
    assert len(images) == 4  # created/resolved, first response, SLA, satisfaction
    for image in images:
        content_id = image["Content-ID"].strip("<>")
        assert f'src="cid:{content_id}"' in html
        data = image.get_payload(decode=True)
        assert data.startswith(PNG) and len(data) > 5_000
        assert image.get_content_disposition() == "inline"

    again = scheduler.send_report("daily-sla")
    assert again.already_sent and not again.sent_to


def test_a_report_with_some_sections_and_its_schedule(
    daemon: DaemonThread, clock: ManualClock, sink: Sink
) -> None:
    clock.advance(datetime(2026, 3, 9, 7, 0, tzinfo=UTC) - clock.now())  # Mon 08:00 Berlin
    scheduler = daemon.service.scheduler
    assert scheduler is not None
    sent = scheduler.send_report("weekly-csat")
    assert sent.period.label == "2026-03-02 – 2026-03-08"
    daemon.flush_outbox()
    assert eventually(lambda: len(reports(sink)) == 1)
    message = reports(sink)[0].message
    text = message.get_body(("plain",)).get_content()
    titles = {line for line in text.splitlines() if line and not line[0].isspace()}
    assert {"Satisfaction", "Agents"} <= titles
    assert not {"Tickets", "Times", "SLA"} & titles
    assert len(parts(message)["image/png"]) == 1  # satisfaction only

    upcoming = scheduler.next_report_time("daily-sla")
    assert upcoming is not None
    local = upcoming.astimezone(BERLIN)
    assert (local.hour, local.minute) == (6, 0)
    weekly = scheduler.next_report_time("weekly-csat")
    assert weekly is not None
    assert weekly.astimezone(BERLIN).weekday() == 0
