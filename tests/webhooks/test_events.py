"""Every webhook event, caused through real SMTP (a customer's mail, agents' commands and
answers, the SLA sweep, a survey answered by mail), arrives once at a real HTTP receiver
with a signature the ``standardwebhooks`` library verifies; ``include_text = false`` keeps
the customer's words out of the payload."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from maild.clock import ManualClock
from storage.models import WebhookStatus
from tests.agents.helpers import ADA, open_ticket, send_as_agent, sent_to, ticket
from tests.agents.mails import agent_mail
from tests.csat.test_rating_by_mail import answer_survey
from tests.mails import customer_mail
from tests.support import DaemonThread, Sink
from tests.webhooks.helpers import deliveries, settle
from tests.webhooks.receiver import Hook, Receiver

ALICE = "agent:alice@example.com"


def as_alice(daemon: DaemonThread, number: int, text: str) -> None:
    record = ticket(daemon, number)
    to = f"support+{record.token}@example.com"
    send_as_agent(daemon, agent_mail(text, to=to, subject=f"Re: [ACME #{number}] x"), to)


def types(hooks: list[Hook]) -> Counter[str]:
    return Counter(hook.type for hook in hooks)


def test_every_event_arrives_once_with_a_valid_signature(
    daemon: DaemonThread, sink: Sink, receiver: Receiver, clock: ManualClock
) -> None:
    steps: list[tuple[str, Counter[str]]] = []
    seen = [0]  # events of /all the steps so far accounted for

    def step(name: str, *expected: str) -> list[Hook]:
        """Wait until the events this step caused arrived at /all; those events. (Counted
        from the end of the last step: the daemon's own worker, woken by the commit, may
        have delivered them before this flush.)"""
        settle(daemon)
        before = seen[0]
        got = receiver.wait_for(before + len(expected), "/all")[before:]
        seen[0] = before + len(got)
        steps.append((name, types(got)))
        assert types(got) == Counter(expected), name
        return got

    open_ticket(daemon)
    [created] = step("new ticket", "ticket.created")
    clock.advance(timedelta(minutes=50))
    daemon.service.run_sla_sweep()
    [warning] = step("sla warning", "sla.warning")
    clock.advance(timedelta(minutes=15))
    daemon.service.run_sla_sweep()
    [breach] = step("sla breach", "sla.breached")
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="It is still burning.\n\n> Hello, our printer is on fire.\n",
            message_id="<second@customer.example>",
            in_reply_to="<first@customer.example>",
        ),
        mail_from=ADA,
    )
    [replied] = step("customer reply", "ticket.customer_replied")
    as_alice(daemon, 1000, "#assign bob@example.com\nWe are on it.")
    answered = step(
        "agent answer", "ticket.assigned", "ticket.status_changed", "ticket.agent_replied"
    )
    open_ticket(daemon, subject="Toner empty", message_id="<toner@customer.example>")
    step("second ticket", "ticket.created")
    as_alice(daemon, 1001, "#merge 1000\nSame printer.")
    merged = step("merge", "ticket.merged", "ticket.status_changed")
    as_alice(daemon, 1000, "#status resolved\nAll fixed.")
    step("resolved", "ticket.status_changed", "ticket.agent_replied")
    clock.advance(timedelta(hours=25))
    daemon.service.run_sla_sweep()
    daemon.flush_outbox()
    sent_to(sink, ADA, 1)
    answer_survey(daemon, sink, "5 - quick and kind")
    [rated] = step("rating", "ticket.rated")

    hooks = receiver.received()
    assert [hook.error for hook in hooks if hook.error] == []  # every signature verified
    assert len({hook.msg_id for hook in hooks}) == len(hooks)  # each event once
    assert all(hook.answered == 200 for hook in hooks)
    every = {event for _, counted in steps for event in counted}
    assert every == {
        "ticket.created",
        "ticket.customer_replied",
        "ticket.agent_replied",
        "ticket.assigned",
        "ticket.status_changed",
        "ticket.merged",
        "sla.warning",
        "sla.breached",
        "ticket.rated",
    }
    # The quiet webhook got only what it subscribed to: the mail events and the rating.
    assert types(receiver.received("/quiet")) == Counter(
        {
            "ticket.created": 2,
            "ticket.customer_replied": 1,
            "ticket.agent_replied": 2,
            "ticket.rated": 1,
        }
    )
    assert {row.status for row in deliveries(daemon)} == {WebhookStatus.DELIVERED}

    # What the payloads say.
    assert created.payload["timestamp"] == "2026-03-02T09:00:00Z"
    assert created.data["ticket"] == 1000 and created.data["tag"] == "[ACME #1000]"
    assert created.data["requester"] == ADA and created.data["status"] == "new"
    assert created.data["text"] == "Hello, our printer is on fire."
    assert created.data["subject"] == "Printer on fire"
    assert warning.data["change"]["target"] == "first_response"
    assert breach.data["change"]["target"] == "first_response"
    assert replied.data["text"] == "It is still burning."  # without the quoted lines
    assert replied.data["actor"] == f"customer:{ADA}"
    by_type = {hook.type: hook for hook in answered}
    assert by_type["ticket.assigned"].data["change"]["to"] == "bob@example.com"
    assert by_type["ticket.status_changed"].data["change"] == {"from": "new", "to": "pending"}
    reply = by_type["ticket.agent_replied"]
    assert reply.data["text"] == "We are on it." and reply.data["actor"] == ALICE
    # Each payload shows the ticket as the whole change left it.
    assert {hook.data["assignee"] for hook in answered} == {"bob@example.com"}
    assert {hook.data["status"] for hook in answered} == {"pending"}
    by_type = {hook.type: hook for hook in merged}
    assert by_type["ticket.merged"].data["ticket"] == 1001
    assert by_type["ticket.merged"].data["change"] == {"into": 1000}
    assert rated.data["change"]["rating"] == "5" and rated.data["text"] == "quick and kind"


def test_include_text_false_sends_no_words_of_the_customer(
    daemon: DaemonThread, receiver: Receiver
) -> None:
    open_ticket(daemon)
    settle(daemon)
    [loud] = receiver.wait_for(1, "/all")
    [quiet] = receiver.wait_for(1, "/quiet")
    assert "text" in loud.data and "subject" in loud.data
    assert "text" not in quiet.data and "subject" not in quiet.data
    assert b"on fire" not in quiet.body
    assert {key: quiet.data[key] for key in ("ticket", "status", "requester")} == {
        "ticket": 1000,
        "status": "new",
        "requester": ADA,
    }
    assert quiet.error is None


def test_automated_mail_on_a_ticket_is_no_customer_reply(
    daemon: DaemonThread, receiver: Receiver
) -> None:
    open_ticket(daemon)
    daemon.send(
        customer_mail(
            subject="Automatic reply: [ACME #1000] Printer on fire",
            body="I am out of the office.\n",
            in_reply_to="<first@customer.example>",
            headers={"Auto-Submitted": "auto-replied"},
        ),
        mail_from=ADA,
    )
    settle(daemon)
    assert [hook.type for hook in receiver.wait_for(1, "/all")] == ["ticket.created"]
