"""The loop guards of each kind of ticket mail (outbound.ticketmail.KINDS), through real
SMTP/LMTP: notices to agents never use up the customers' budget, an agent always hears that
their mail did nothing, and an answer nobody can receive is reported to the agent."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from maild.clock import ManualClock
from maild.config import Config, config_from_mapping
from storage import tickets
from storage.models import MessageKind
from tests.agents.conftest import agents_data
from tests.agents.helpers import ADA, events, messages, open_ticket, outbox, sent_to, ticket
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.support import WAIT, DaemonThread, Sink

ALICE = "alice@example.com"


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    data = agents_data(tmp_path, database_url, sink)
    data["maild"]["auto_reply_limit"] = 2
    data["trust"] = {"sources": ["lmtp"]}  # the local MTA hands agents' mail over LMTP
    return config_from_mapping(data)


@pytest.fixture
def daemon(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    running = DaemonThread(config, clock).start()
    yield running
    running.stop()


def over_lmtp(daemon: DaemonThread, raw: bytes, to: str, sender: str = ALICE) -> None:
    with smtplib.LMTP("127.0.0.1", daemon.lmtp_port, timeout=WAIT) as client:
        client.sendmail(sender, [to], raw)


def errors_to_alice(sink: Sink, count: int, subject: str) -> list[str]:
    return [
        r.message.get_body(("plain",)).get_content()
        for r in sent_to(sink, ALICE, count)
        if str(r.message["Subject"]).startswith(subject)
    ]


def test_agent_hears_of_a_failed_command_after_many_notices(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
        ),
        mail_from=ADA,
    )
    assert len([r for r in outbox(daemon, "notification") if ALICE in r.recipients]) == 2
    to = f"support+{ticket(daemon, 1000).token}@example.com"
    over_lmtp(daemon, agent_mail("#bogus", to=to, auth=None), to)
    [error] = [r for r in outbox(daemon, "agent_error") if ALICE in r.recipients]
    assert error.automatic  # an automatic reply, yet never held back by the customers' budget
    assert any("#bogus" in text for text in errors_to_alice(sink, 3, "Not carried out"))


def test_answer_to_a_bouncing_requester_is_reported_to_the_agent(
    daemon: DaemonThread, sink: Sink
) -> None:
    opened = open_ticket(daemon)
    with daemon.runtime.write_sessions.begin() as session:
        tickets.mark_bouncing(session.connection(), opened.id, [ADA])
    to = f"support+{opened.token}@example.com"
    over_lmtp(daemon, agent_mail("Please unplug the printer.", to=to, auth=None), to)
    assert messages(daemon, 1000)[-1].kind == MessageKind.NOTE
    assert "reply.not_sent" in [e.kind for e in events(daemon, 1000)]
    [report] = errors_to_alice(sink, 2, "Not delivered")
    assert f"mail to {ADA} bounces" in report
    assert "maild participants clear" in report
    assert outbox(daemon, "reply") == []
