"""``#watch`` / ``#unwatch``: an agent who watches a ticket gets every notification of it,
like its assignee; only configured agents can watch; ``tickets show`` lists the watchers.
Through real SMTP, read back from the database, the sink and the console."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from maild.cli import cli
from storage.models import MessageKind, OutboxMessage
from tests.agents.helpers import (
    events,
    messages,
    open_ticket,
    outbox,
    send_as_agent,
    sent_to,
    ticket,
)
from tests.agents.mails import agent_mail
from tests.agents.test_commands import agent_error
from tests.mails import customer_mail
from tests.support import DaemonThread, Received, Sink

ALICE = "alice@example.com"
BOB = "bob@example.com"


def notices_to(daemon: DaemonThread, address: str) -> list[OutboxMessage]:
    return [row for row in outbox(daemon, "notification") if address in row.recipients]


def as_agent(daemon: DaemonThread, text: str, sender: str = f"Alice <{ALICE}>") -> None:
    to = f"support+{ticket(daemon, 1000).token}@example.com"
    address = sender.rpartition("<")[2].rstrip(">")
    send_as_agent(daemon, agent_mail(text, to=to, sender=sender), to, sender=address)


def customer_replies(daemon: DaemonThread, n: int) -> None:
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body=f"Still smoking ({n}).\n",
            message_id=f"<reply-{n}@customer.example>",
            in_reply_to="<first@customer.example>",
        ),
        mail_from="ada@customer.example",
    )


def text_of(received: Received) -> str:
    return received.message.get_body(("plain",)).get_content()


def show(config_file: Path, *options: str) -> str:
    result = CliRunner().invoke(cli, ["-c", str(config_file), "tickets", "show", "1000", *options])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_watcher_gets_the_replies_the_assignee_gets(daemon: DaemonThread, sink: Sink) -> None:
    open_ticket(daemon)
    as_agent(daemon, "Hello Ada,\n\nplease unplug the printer.")  # Alice takes the ticket
    assert ticket(daemon, 1000).assignee == ALICE
    customer_replies(daemon, 1)
    assert len(notices_to(daemon, ALICE)) == 2 and len(notices_to(daemon, BOB)) == 1

    as_agent(daemon, "#watch", sender=f"Bob <{BOB}>")
    [added] = [e for e in events(daemon, 1000) if e.kind == "watcher.added"]
    assert added.actor == f"agent:{BOB}" and added.data == {"address": BOB}
    assert messages(daemon, 1000)[-1].kind == MessageKind.NOTE  # commands only: no answer
    customer_replies(daemon, 2)
    assert len(notices_to(daemon, ALICE)) == 3 and len(notices_to(daemon, BOB)) == 2
    assert "Still smoking (2)." in text_of(sent_to(sink, BOB, 2)[-1])
    [queued] = [e for e in events(daemon, 1000) if e.kind == "notification.queued"][-1:]
    assert queued.data["to"] == [ALICE, BOB]

    as_agent(daemon, "#unwatch", sender=f"Bob <{BOB}>")
    assert [e.kind for e in events(daemon, 1000)].count("watcher.removed") == 1
    customer_replies(daemon, 3)
    assert len(notices_to(daemon, ALICE)) == 4 and len(notices_to(daemon, BOB)) == 2


def test_watch_names_another_agent_and_tickets_show_lists_the_watchers(
    daemon: DaemonThread, sink: Sink, config_file: Path
) -> None:
    open_ticket(daemon)
    as_agent(daemon, "#watch bob@example.com\n#watch me\n#note\nBob should see this one.")
    assert [e.data["address"] for e in events(daemon, 1000) if e.kind == "watcher.added"] == [
        BOB,
        ALICE,
    ]
    shown = json.loads(show(config_file, "--json"))
    assert shown["watchers"] == [BOB, ALICE]
    assert f"watchers {BOB}, {ALICE}" in show(config_file)

    as_agent(daemon, "#watch alice.private@example.com")  # an alias: already watching
    as_agent(daemon, "#unwatch bob@example.com")
    assert json.loads(show(config_file, "--json"))["watchers"] == [ALICE]
    as_agent(daemon, "#unwatch")
    assert json.loads(show(config_file, "--json"))["watchers"] == []
    assert "watchers" not in show(config_file)


def test_only_agents_can_watch(daemon: DaemonThread, sink: Sink, config_file: Path) -> None:
    open_ticket(daemon)
    as_agent(daemon, "#watch carol@customer.example\nHello Ada, on it.")
    error = agent_error(sink).get_content()
    assert "carol@customer.example is not an agent" in error
    assert json.loads(show(config_file, "--json"))["watchers"] == []
    assert messages(daemon, 1000)[-1].kind == MessageKind.NOTE  # nothing reached Ada
    [failed] = [e for e in events(daemon, 1000) if e.kind == "agent.commands_failed"]
    assert "only agents can watch" in " ".join(failed.data["errors"])
