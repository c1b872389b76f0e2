"""A rating given by replying to the survey: recorded, the ticket stays resolved (or
closed, with no follow-up), agents get no reply notice, and ``ticket.rated`` rules run."""

from __future__ import annotations

from datetime import timedelta

import pytest

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from storage.models import TicketStatus
from tests.agents.conftest import agents_data
from tests.agents.helpers import (
    ADA,
    events,
    open_ticket,
    outbox,
    send_as_agent,
    ticket,
    tickets,
)
from tests.agents.mails import agent_mail
from tests.csat.test_surveys import resolve, stored, surveys_to, sweep
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink

UNHAPPY = {
    "name": "unhappy customer",
    "when": {"event": "ticket.rated", "rating": "<=2"},
    "then": {"tags": ["unhappy"], "notify": {"to": ["bob@example.com"]}},
}


@pytest.fixture
def config(tmp_path, database_url: str, sink: Sink, monkeypatch) -> Config:
    monkeypatch.setenv("MAILD_TEST_CSAT_SECRET", "a test secret that signs survey links")
    data = agents_data(tmp_path, database_url, sink)
    data["maild"]["secret_env"] = "MAILD_TEST_CSAT_SECRET"
    data["csat"] = {"enabled": True, "delay": "24h"}
    data["rules"] = [UNHAPPY]
    return config_from_mapping(data)


def answer_survey(daemon: DaemonThread, sink: Sink, body: str, n: int = 1) -> None:
    survey = surveys_to(sink, ADA)[-1].message
    daemon.send(
        customer_mail(
            subject="Re: " + survey["Subject"],
            body=body,
            message_id=f"<rating-{n}@customer.example>",
            in_reply_to=survey["Message-ID"],
            references=survey["References"] + " " + survey["Message-ID"],
        ),
        mail_from=ADA,
    )


def test_a_low_rating_by_reply_is_recorded_and_runs_rated_rules(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, timedelta(hours=25))
    notices_before = len(outbox(daemon, "notification"))
    answer_survey(daemon, sink, "2 - it took a week\n\nAnd nobody called back.\n")
    [row] = stored(daemon)
    assert (row.rating, row.rated_via) == ("2", "mail")
    assert row.comment == "it took a week\n\nAnd nobody called back."
    record = ticket(daemon, 1000)
    assert record.status == TicketStatus.RESOLVED  # a rating does not reopen
    assert "unhappy" in record.tags
    kinds = [e.kind for e in events(daemon, 1000)]
    assert "ticket.rated" in kinds and "status.changed" not in kinds[kinds.index("ticket.rated") :]
    told = [r.recipients for r in outbox(daemon, "notification")][notices_before:]
    assert told == [["bob@example.com"]]  # the rule's notice; no "Ada replied" to agents


def test_a_rating_reply_to_a_closed_ticket_opens_no_follow_up(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, timedelta(hours=25))
    record = ticket(daemon, 1000)
    to = f"support+{record.token}@example.com"
    send_as_agent(daemon, agent_mail("#status closed", to=to), to)
    answer_survey(daemon, sink, "5\nThanks!\n")
    assert len(tickets(daemon)) == 1
    assert stored(daemon)[0].rating == "5"
    assert ticket(daemon, 1000).status == TicketStatus.CLOSED


def test_a_reply_that_is_no_rating_is_an_ordinary_reply(
    daemon: DaemonThread, sink: Sink, clock: ManualClock
) -> None:
    open_ticket(daemon)
    resolve(daemon)
    sweep(daemon, clock, timedelta(hours=25))
    answer_survey(daemon, sink, "Actually the printer is on fire again.\n")
    assert stored(daemon)[0].rating is None
    assert ticket(daemon, 1000).status == TicketStatus.OPEN
