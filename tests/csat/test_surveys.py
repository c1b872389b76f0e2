"""Satisfaction surveys through the real daemon: sent once, a day after resolution, in the
ticket's thread; rated by one click (a GET shows, a POST records), changed within a week,
expired after 30 days; and never sent where it must not be."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner

from maild.cli import cli
from maild.clock import ManualClock
from storage import tickets
from storage.models import Survey
from tests.agents.helpers import ADA, events, open_ticket, send_as_agent, ticket
from tests.agents.mails import agent_mail
from tests.csat.conftest import csat_data
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink, write_toml

HOUR = timedelta(hours=1)


def resolve(daemon: DaemonThread, number: int = 1000) -> None:
    record = ticket(daemon, number)
    to = f"support+{record.token}@example.com"
    send_as_agent(daemon, agent_mail("#status resolved\nAll fixed.", to=to), to)
    assert str(ticket(daemon, number).status) == "resolved"


def sweep(daemon: DaemonThread, clock: ManualClock, after: timedelta) -> None:
    clock.advance(after)
    daemon.service.run_sla_sweep()
    daemon.flush_outbox()


def surveys_to(sink: Sink, address: str) -> list[Received]:
    return [
        r
        for r in sink.received
        if address in r.rcpt_tos and "How did we do?" in str(r.message["Subject"])
    ]


def links(survey: Received) -> dict[str, str]:
    text = survey.message.get_body(("plain",)).get_content()
    return {url.rsplit("/", 1)[1]: url for url in re.findall(r"http://\S+/csat/\S+", text)}


def fetch(url: str, data: dict[str, str] | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(url, data=body, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def stored(daemon: DaemonThread) -> list[Survey]:
    with daemon.runtime.sessions() as session:
        return list(session.query(Survey).order_by(Survey.id))


def test_survey_a_day_after_resolution_once_in_the_thread(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, 23 * HOUR)
    assert surveys_to(sink, ADA) == []
    sweep(daemon, clock, 2 * HOUR)
    [survey] = surveys_to(sink, ADA)
    message = survey.message
    assert message["Auto-Submitted"] == "auto-generated"
    assert "<first@customer.example>" in message["References"]
    assert message["Subject"].startswith("[ACME #1000] How did we do?")
    assert sorted(links(survey)) == ["1", "2", "3", "4", "5"]
    assert all(
        url.startswith(f"http://127.0.0.1:{daemon.service.web.port}/csat/")
        for url in links(survey).values()
    )
    sweep(daemon, clock, 48 * HOUR)
    assert len(surveys_to(sink, ADA)) == 1
    assert "survey.sent" in [e.kind for e in events(daemon, 1000)]


def test_one_click_shows_then_the_button_records(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, 25 * HOUR)
    [survey] = surveys_to(sink, ADA)
    url = links(survey)["4"]
    status, page = fetch(url)
    assert status == 200 and "Satisfied" in page and 'method="post"' in page
    assert stored(daemon)[0].rating is None  # a GET (a mail scanner) records nothing

    token = url.rsplit("/", 2)[1]
    post = url.rsplit("/", 1)[0]
    status, page = fetch(post, {"rating": "4", "comment": "<script>alert(1)</script> fine"})
    assert status == 200 and "Thank you" in page
    [row] = stored(daemon)
    assert (row.rating, row.rated_via) == ("4", "web")
    assert row.comment == "<script>alert(1)</script> fine"
    [rated] = [e for e in events(daemon, 1000) if e.kind == "ticket.rated"]
    assert rated.data["rating"] == "4"

    # The stored comment comes back escaped in the form.
    status, page = fetch(links(survey)["5"])
    assert "<script>" not in page and "&lt;script&gt;" in page

    # Changed within the week; after it, the page shows the rating that stands.
    clock.advance(timedelta(days=6))
    assert fetch(post, {"rating": "5"})[0] == 200
    assert stored(daemon)[0].rating == "5"
    clock.advance(timedelta(days=2))
    status, page = fetch(post, {"rating": "1"})
    assert status == 200 and "is recorded" in page and "Very satisfied" in page
    assert stored(daemon)[0].rating == "5"

    # From day 30 the link says it expired.
    clock.advance(timedelta(days=23))
    status, page = fetch(links(survey)["3"])
    assert status == 410 and "expired" in page

    # A link that was tampered with works for nothing.
    forged = post.replace(token, token.split(".")[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA")
    assert fetch(forged + "/4")[0] == 404
    assert fetch(post + "/9")[0] == 404


def test_no_survey_for_merged_automated_or_bouncing(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    # 1000: the requester bounces; 1001: automated mail only; 1002 merged into 1003.
    gone = "gone@customer.example"
    daemon.send(customer_mail(sender=gone, message_id="<gone@customer.example>"), mail_from=gone)
    daemon.send(
        customer_mail(
            sender="Monitor <alerts@monitor.example>",
            subject="disk full",
            message_id="<alert@monitor.example>",
            headers={"Auto-Submitted": "auto-generated"},
        ),
        mail_from="",
    )
    for n, subject in ((2, "Second"), (3, "Third")):
        open_ticket(daemon, subject=subject, message_id=f"<t{n}@customer.example>")
    with daemon.runtime.write_sessions.begin() as session:
        tickets.mark_bouncing(session.connection(), ticket(daemon, 1000).id, [gone])
    record = ticket(daemon, 1002)
    to = f"support+{record.token}@example.com"
    send_as_agent(daemon, agent_mail("#merge 1003", to=to), to)
    for number in (1000, 1001, 1003):
        resolve(daemon, number)
    sweep(daemon, clock, 25 * HOUR)
    by_ticket = {row.ticket_id: row for row in stored(daemon)}
    assert by_ticket[ticket(daemon, 1000).id].status == "skipped"
    assert by_ticket[ticket(daemon, 1000).id].reason == "address is bouncing"
    assert ticket(daemon, 1001).id not in by_ticket
    assert ticket(daemon, 1002).id not in by_ticket
    assert by_ticket[ticket(daemon, 1003).id].status == "sent", by_ticket
    assert surveys_to(sink, gone) == []
    assert len(surveys_to(sink, ADA)) == 1


def test_maild_sla_sweep_queues_the_surveys_due(
    daemon: DaemonThread, sink: Sink, clock: ManualClock, tmp_path: Path, database_url: str
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    config_file = tmp_path / "csat.toml"
    write_toml(csat_data(tmp_path, database_url, sink), config_file)
    at = (clock.now() + timedelta(hours=25)).isoformat()  # a past moment: a real sweep
    result = CliRunner().invoke(cli, ["-c", str(config_file), "sla", "sweep", "--at", at, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["surveys_sent"] == 1
    assert [row.status for row in stored(daemon)] == ["sent"]


def test_healthz_says_ok_until_the_writer_stops(daemon: DaemonThread) -> None:
    url = f"http://127.0.0.1:{daemon.service.web.port}/healthz"
    assert fetch(url) == (200, "ok\n")
    daemon.runtime.writer.stop()
    status, body = fetch(url)
    assert status == 503 and "writer has stopped" in body
