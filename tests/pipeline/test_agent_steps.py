"""The agent chain (``maild.chains.agent_chain``), one step at a time against SQLite: a
customer's mail opens ticket 1000 through the real pipeline, then Alice's mail (trusted: it
comes over LMTP) runs the steps before the one under test and that one on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from maild.agents.reply import AgentReply
from maild.agents.steps.claim_ticket import ClaimTicket
from maild.agents.steps.find_ticket import NOT_THREADED, FindTicket
from maild.agents.steps.fire_rules import FireAgentReplied
from maild.agents.steps.guard_answer import GuardAnswer
from maild.agents.steps.join_ticket import JoinAsAgent
from maild.agents.steps.relay import Relay
from maild.agents.steps.run_commands import RunCommands
from maild.agents.steps.store import StoreAgentMail
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Outcome
from maild.pipeline.errors import Handled
from storage import tickets
from storage.models import MessageKind, QuarantinedMessage, TicketStatus
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.pipeline.conftest import ADA, ALICE, BOB, Desk, desk_data, open_desk

ANSWER = "Hello Ada,\n\nplease unplug the printer."


def alice(desk: Desk, body: str, *, to: str | None = None, subject: str | None = None):
    """Alice's mail to the ticket's token address, after the steps every mail takes."""
    to = to or f"support+{desk.ticket().token}@example.com"
    mail = agent_mail(body, to=to, auth=None, **({"subject": subject} if subject else {}))
    context = desk.context(mail, to=(to,), mail_from=ALICE, source="lmtp")
    desk.first(context)
    assert context.agent is not None
    return context


def until(desk: Desk, context: IntakeContext, name: str) -> AgentReply:
    """Run the agent chain up to (not including) the step ``name``."""
    for step in desk.chains.agent:
        if step.name == name:
            break
        step(context)
    return context.part(AgentReply)


@pytest.fixture
def ticket_desk(desk: Desk) -> Desk:
    desk.deliver(customer_mail(message_id="<first@customer.example>"))
    return desk


def test_find_ticket_starts_the_reply_on_the_ticket(ticket_desk: Desk) -> None:
    context = alice(ticket_desk, ANSWER)
    FindTicket(ticket_desk.config, ticket_desk.renderer)(context)
    reply = context.part(AgentReply)
    assert reply.record.number == 1000 and reply.agent.address == ALICE
    assert reply.relays and not reply.to_note and reply.answer == ANSWER


def test_find_ticket_holds_mail_that_finds_none_and_tells_the_agent(desk: Desk) -> None:
    context = alice(desk, ANSWER, to="support@example.com", subject="Hello")
    with pytest.raises(Handled) as handled:
        FindTicket(desk.config, desk.renderer)(context)
    assert handled.value.result.outcome == Outcome.QUARANTINED
    [(kind, recipients, _)] = desk.outbox()
    assert (kind, recipients) == ("agent_error", [ALICE])
    [reason] = desk.connection.execute(
        select(QuarantinedMessage.error).where(
            QuarantinedMessage.id == handled.value.result.quarantine_id
        )
    ).scalars()
    assert reason == NOT_THREADED


def test_run_commands_leaves_them_pending_or_undoes_them_all(ticket_desk: Desk) -> None:
    desk = ticket_desk
    context = alice(desk, "#priority high\n#tag +vip")
    reply = until(desk, context, "commands")
    RunCommands(desk.config, desk.mailboxes, desk.renderer, desk.notifier)(context)
    assert reply.pending is not None and not reply.errors
    assert (reply.record.priority, reply.record.tags) == ("high", ["vip"])

    failing = alice(desk, "#priority high\n#priority whenever")
    reply = until(desk, failing, "commands")
    RunCommands(desk.config, desk.mailboxes, desk.renderer, desk.notifier)(failing)
    assert reply.pending is None and "unknown priority" in " ".join(reply.errors)
    assert reply.record.priority == "medium"  # "#priority high" did not take effect either
    assert failing.events.kinds[-1] == "agent.commands_failed"
    assert [kind for kind, _, _ in desk.outbox("agent_error")] == ["agent_error"]


def test_guard_answer_withholds_a_pasted_notification_and_undoes_the_commands(
    ticket_desk: Desk,
) -> None:
    desk = ticket_desk
    pasted = (
        f"#assign {BOB}\n#priority high\n{ANSWER}\n\nReply to this mail to answer the customer."
    )
    context = alice(desk, pasted)
    reply = until(desk, context, "withheld-guard")
    assert reply.record.assignee == BOB and reply.pending is not None
    GuardAnswer(desk.config, desk.renderer)(context)
    assert reply.withheld is not None and reply.withheld.reason == "notification quoted"
    assert (reply.record.assignee, reply.record.priority) == (None, "medium")
    assert desk.ticket().assignee is None
    assert not reply.answers_customer
    assert [r for _, r, _ in desk.outbox("notification")] == [[ALICE], [BOB]]  # new ticket only


def test_guard_answer_keeps_the_commands_of_a_clean_answer_and_sends_their_notices(
    ticket_desk: Desk,
) -> None:
    desk = ticket_desk
    context = alice(desk, f"#assign {BOB}\n#priority high\n{ANSWER}")
    until(desk, context, "withheld-guard")
    assert len(desk.outbox("notification")) == 2  # "assigned to you" waits for the guard
    GuardAnswer(desk.config, desk.renderer)(context)
    assert (desk.ticket().assignee, desk.ticket().priority) == (BOB, "high")
    assert [r for _, r, _ in desk.outbox("notification")][-1] == [BOB]


def test_relay_sends_the_answer_and_leaves_the_ticket_pending(ticket_desk: Desk) -> None:
    desk = ticket_desk
    context = alice(desk, ANSWER)
    reply = until(desk, context, "relay")
    Relay(desk.config, desk.mailboxes, desk.renderer)(context)
    assert reply.kind == MessageKind.AGENT
    assert reply.record.status == TicketStatus.PENDING and reply.record.first_response_at
    assert [r for _, r, _ in desk.outbox("reply")] == [[ADA]]
    assert context.events.kinds[-2:] == ["status.changed", "agent.replied"]


def test_relay_to_a_bouncing_requester_keeps_a_note_and_tells_the_agent(
    ticket_desk: Desk,
) -> None:
    desk = ticket_desk
    tickets.mark_bouncing(desk.connection, desk.ticket().id, [ADA])
    context = alice(desk, ANSWER)
    reply = until(desk, context, "relay")
    Relay(desk.config, desk.mailboxes, desk.renderer)(context)
    assert reply.kind == MessageKind.NOTE and desk.outbox("reply") == []
    assert context.events.kinds[-1] == "reply.not_sent"
    assert [r for _, r, _ in desk.outbox("agent_error")] == [[ALICE]]


@pytest.mark.parametrize(
    ("body", "assignee"),
    [(ANSWER, ALICE), (f"#assign {BOB}\n{ANSWER}", BOB), (f"#note\n{ANSWER}", None)],
)
def test_claim_ticket_by_the_first_answer_unless_the_mail_says_otherwise(
    ticket_desk: Desk, body: str, assignee: str | None
) -> None:
    desk = ticket_desk
    context = alice(desk, body)
    reply = until(desk, context, "claim-ticket")
    ClaimTicket()(context)
    assert reply.record.assignee == assignee


def test_store_agent_mail_keeps_a_note_and_ends_on_its_ticket(ticket_desk: Desk) -> None:
    desk = ticket_desk
    context = alice(desk, "#note\nCalled her, no answer.")
    until(desk, context, "store-agent-mail")
    StoreAgentMail()(context)
    [_, (kind, text, sender)] = desk.messages()
    assert (kind, text, sender) == (MessageKind.NOTE, "Called her, no answer.", ALICE)
    assert context.ticket is not None and context.ticket.number == 1000
    assert context.events.kinds[-1] == "note.added"


def test_join_as_agent_makes_the_agent_a_participant(ticket_desk: Desk) -> None:
    desk = ticket_desk
    context = alice(desk, ANSWER)
    until(desk, context, "join-agent")
    JoinAsAgent()(context)
    assert desk.participants()[ALICE] == "agent"


@pytest.fixture
def ruled_desk(tmp_path: Path, schema_file: Path) -> Iterator[Desk]:
    data = desk_data(tmp_path)
    data["rules"] = [
        {
            "name": "answered",
            "when": {"event": "ticket.agent_replied"},
            "then": {"tags": ["answered"]},
        }
    ]
    for desk in open_desk(tmp_path, schema_file, data):
        desk.deliver(customer_mail(message_id="<first@customer.example>"))
        yield desk


def test_fire_agent_replied_runs_the_rules_after_an_answer_only(ruled_desk: Desk) -> None:
    desk = ruled_desk
    note = alice(desk, "#note\nCalled her.")
    until(desk, note, "rules-agent-replied")
    FireAgentReplied(desk.notifier)(note)
    assert desk.ticket().tags == []

    answer = alice(desk, ANSWER)
    until(desk, answer, "rules-agent-replied")
    FireAgentReplied(desk.notifier)(answer)
    assert desk.ticket().tags == ["answered"]
    assert answer.events.kinds[-1] == "tags.changed"
