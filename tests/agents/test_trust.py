"""Only mail the trust rule accepts is an agent's; an agent's mail that threads nowhere and
mail to the note address; ``maild agents``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from maild.agents.trust import judge, source_name
from maild.cli import cli
from maild.config import TrustSection
from maild.pipeline.delivery import Delivery
from maild.pipeline.intake import parse_raw
from storage.models import MessageKind, TicketStatus
from tests.agents.conftest import AUTHSERV
from tests.agents.helpers import (
    ADA,
    events,
    held,
    messages,
    open_ticket,
    outbox,
    send_as_agent,
    ticket,
    tickets,
)
from tests.agents.mails import TRUSTED, agent_mail
from tests.agents.test_commands import agent_error
from tests.support import DaemonThread, Sink

FORGED = "evil.example.net; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
FAILED = f"{AUTHSERV}; dkim=fail header.d=example.com; dmarc=fail header.from=example.com"


@pytest.mark.parametrize("auth", [None, FORGED, FAILED], ids=["none", "forged", "dmarc-fail"])
def test_untrusted_mail_claiming_an_agent_is_a_customer_reply(
    daemon: DaemonThread, sink: Sink, auth: str | None
) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(
        daemon, agent_mail("#status closed\n#priority low\nHi there", to=to, auth=auth), to
    )
    after = ticket(daemon, 1000)
    assert after.status == TicketStatus.NEW and after.priority == "medium"  # no command ran
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.CUSTOMER
    assert outbox(daemon, "reply") == []  # nothing relayed
    [suspect] = [e for e in events(daemon, 1000) if e.kind == "agent.spoofing_suspect"]
    assert suspect.data["address"] == "alice@example.com"
    assert suspect.actor == "customer:alice@example.com"


def test_agent_mail_that_threads_nowhere_is_held_and_answered(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    send_as_agent(
        daemon,
        agent_mail("Hi, a new thing", to="support@example.com", subject="Something else"),
        "support@example.com",
    )
    assert len(tickets(daemon)) == 1  # no ticket opened
    [kept] = held(daemon)
    assert "no ticket" in kept.error
    assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]
    assert "could not tell which ticket" in agent_error(sink).get_content()


def test_the_tag_alone_threads_an_agent_mail(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    send_as_agent(
        daemon,
        agent_mail("#priority urgent", to="support@example.com"),
        "support@example.com",
    )
    assert ticket(daemon, 1000).priority == "urgent"


def test_mail_to_the_note_address_is_a_note(daemon: DaemonThread, sink: Sink) -> None:
    opened = open_ticket(daemon)
    to = f"notes+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail("Called the customer, all good.", to=to), to)
    assert messages(daemon, 1000)[-1].kind == MessageKind.NOTE
    assert outbox(daemon, "reply") == []
    # Without a token, the subject tag finds the ticket.
    send_as_agent(daemon, agent_mail("Second note.", to="notes@example.com"), "notes@example.com")
    assert messages(daemon, 1000)[-1].reply_text == "Second note."
    assert outbox(daemon, "reply") == []


def test_stranger_mailing_the_note_address_is_held(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    for raw in (
        agent_mail("Let me in", to="notes@example.com", sender="mallory@example.net"),
        agent_mail("Let me in", to="notes@example.com", auth=None),  # an untrusted "agent"
    ):
        send_as_agent(daemon, raw, "notes@example.com", sender="mallory@example.net")
    assert len(held(daemon)) == 2
    assert all("note address" in kept.error for kept in held(daemon))
    assert len(messages(daemon, 1000)) == 1


def test_trusted_sources() -> None:
    raw = agent_mail("Hi", to="support@example.com", auth=None)
    parsed = parse_raw(raw, "ACME")
    lmtp = Delivery(raw, "alice@example.com", ("support@example.com",), "lmtp")
    imap = Delivery(raw, "", ("support@example.com",), "imap", account="office365")
    trust = TrustSection(sources=("lmtp", "imap:office365"))
    assert judge(trust, parsed, lmtp).trusted
    assert source_name(imap) == "imap:office365" and judge(trust, parsed, imap).trusted
    assert not judge(TrustSection(sources=("imap:other",)), parsed, imap).trusted
    assert not judge(TrustSection(), parsed, lmtp).trusted
    signed = parse_raw(agent_mail("Hi", to="support@example.com", auth=TRUSTED), "ACME")
    assert judge(TrustSection(authserv_ids=(AUTHSERV,)), signed, lmtp).trusted
    assert not judge(TrustSection(authserv_ids=("other.example",)), signed, lmtp).trusted


def test_agents_command_lists_agents_with_open_tickets(
    daemon: DaemonThread, sink: Sink, config_file: Path
) -> None:
    open_ticket(daemon)
    open_ticket(daemon, subject="Second", message_id="<second@customer.example>")
    for number in (1000, 1001):
        to = f"support+{ticket(daemon, number).token}@example.com"
        send_as_agent(daemon, agent_mail("#assign me", to=to, subject="Re: x"), to)
    result = CliRunner().invoke(cli, ["-c", str(config_file), "agents", "--json"])
    assert result.exit_code == 0, result.output
    listing = {row["address"]: row for row in json.loads(result.stdout)}
    assert listing["alice@example.com"]["open_tickets"] == 2
    assert listing["alice@example.com"]["teams"] == ["support"]
    assert listing["alice@example.com"]["max_open"] == 5
    assert listing["bob@example.com"]["open_tickets"] == 0
    table = CliRunner().invoke(cli, ["-c", str(config_file), "agents"])
    assert table.exit_code == 0 and "2 / 5" in table.output
