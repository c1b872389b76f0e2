"""The customer chain (``maild.chains.customer_chain``), one step at a time against SQLite:
the scene is set through the real pipeline, the step under test runs on its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maild.automation.steps.apply_rules import ApplyRules
from maild.pipeline.acknowledge import Acknowledger
from maild.pipeline.errors import Unprocessable
from maild.pipeline.steps.accept_cc import AcceptCc
from maild.pipeline.steps.acknowledge import Acknowledge
from maild.pipeline.steps.follow_up_closed import FollowUpClosed
from maild.pipeline.steps.join_thread import JoinThread
from maild.pipeline.steps.note_address import RefuseStrangerNotes
from maild.pipeline.steps.notify_agents import NotifyAgents
from maild.pipeline.steps.open_ticket import OpenTicket
from maild.pipeline.steps.record_events import RecordEvents
from maild.pipeline.steps.status import UpdateStatus
from maild.pipeline.steps.store import StoreMessage
from storage import workflow
from storage.models import MessageKind, TicketStatus
from tests.mails import customer_mail
from tests.pipeline.conftest import ADA, ALICE, BOB, Desk, desk_data, open_desk

FIRST = "<first@customer.example>"
CAROL = "carol@customer.example"


def reply(**fields: str) -> bytes:
    fields.setdefault("body", "Still burning.\n")
    return customer_mail(subject="Re: [ACME #1000] Printer on fire", in_reply_to=FIRST, **fields)


def opened(desk: Desk) -> None:
    desk.deliver(customer_mail(message_id=FIRST))


def test_note_address_refuses_mail_from_anyone_but_an_agent(desk: Desk) -> None:
    RefuseStrangerNotes(desk.config)(desk.context(customer_mail()))
    with pytest.raises(Unprocessable, match="note address"):
        RefuseStrangerNotes(desk.config)(desk.context(customer_mail(), to=("notes@example.com",)))


@pytest.fixture
def reopening_desk(tmp_path: Path, schema_file: Path) -> Iterator[Desk]:
    (tmp_path / "reopen").mkdir()
    data = desk_data(tmp_path / "reopen")
    data["maild"]["closed_ticket_reply"] = "reopen"
    yield from open_desk(tmp_path / "reopen", schema_file, data)


def test_follow_up_closed_links_the_closed_ticket_unless_configured_to_reopen(
    desk: Desk, reopening_desk: Desk
) -> None:
    for each in (desk, reopening_desk):
        opened(each)
        workflow.update_ticket(each.connection, each.ticket().id, {"status": TicketStatus.CLOSED})
    follow_up = desk.first(desk.context(reply()))
    FollowUpClosed(desk.config)(follow_up)
    assert follow_up.ticket is None and follow_up.linked_ticket is not None

    reopen = reopening_desk.first(reopening_desk.context(reply()))
    FollowUpClosed(reopening_desk.config)(reopen)
    assert reopen.ticket is not None and reopen.linked_ticket is None

    auto_reply = desk.first(desk.context(reply(headers={"Auto-Submitted": "auto-replied"})))
    FollowUpClosed(desk.config)(auto_reply)
    assert auto_reply.ticket is not None  # stays on the closed ticket, opens nothing


def test_open_ticket_creates_the_ticket_with_its_requester(desk: Desk) -> None:
    context = desk.first(desk.context(customer_mail(subject="Re: Printer on fire")))
    OpenTicket(desk.config)(context)
    assert context.created and context.ticket is not None and context.ticket.number == 1000
    record = desk.ticket()
    assert record.subject == "Printer on fire" and record.status == TicketStatus.NEW
    assert record.priority == desk.config.maild.default_priority and record.token
    assert desk.participants() == {ADA: "requester"}
    assert context.events.kinds == ["ticket.created"]


def test_join_thread_adds_who_answered_our_token_address(desk: Desk) -> None:
    opened(desk)
    token_address = f"support+{desk.ticket().token}@example.com"
    carol = desk.first(
        desk.context(
            customer_mail(sender=f"Carol <{CAROL}>", subject="Re: Printer"),
            to=(token_address,),
            mail_from=CAROL,
        )
    )
    JoinThread(desk.config, desk.mailboxes)(carol)
    assert desk.participants()[CAROL] == "cc"

    # A customer's Message-ID is no proof of anything: the step adds nobody for it.
    dave = desk.first(desk.context(reply(sender="Dave <dave@customer.example>")))
    dave.ticket, dave.threaded_by = carol.ticket, "references"
    JoinThread(desk.config, desk.mailboxes)(dave)
    assert "dave@customer.example" not in desk.participants()


def test_accept_cc_brings_along_whom_the_requester_addressed(desk: Desk) -> None:
    opened(desk)
    context = desk.first(desk.context(reply(to=f"support@example.com, Carol <{CAROL}>, {BOB}")))
    AcceptCc(desk.config, desk.mailboxes)(context)
    assert desk.participants() == {ADA: "requester", CAROL: "cc"}  # an agent is no Cc
    assert context.cc_added == [CAROL]


def test_status_reopens_a_pending_ticket_on_the_customers_reply(desk: Desk) -> None:
    opened(desk)
    workflow.update_ticket(desk.connection, desk.ticket().id, {"status": TicketStatus.PENDING})
    context = desk.first(desk.context(reply()))
    UpdateStatus()(context)
    assert desk.ticket().status == TicketStatus.OPEN
    assert context.events.kinds == ["status.changed"]

    workflow.update_ticket(desk.connection, desk.ticket().id, {"status": TicketStatus.PENDING})
    automated = desk.first(desk.context(reply(headers={"Auto-Submitted": "auto-replied"})))
    UpdateStatus()(automated)
    assert desk.ticket().status == TicketStatus.PENDING  # an auto-reply reopens nothing


def test_store_keeps_the_reply_text_without_quoted_history(desk: Desk) -> None:
    opened(desk)
    context = desk.first(desk.context(reply(body="Still burning.\n\n> Hello, our printer\n")))
    StoreMessage()(context)
    [_, (kind, text, sender)] = desk.messages()
    assert (kind, text.strip(), sender) == (MessageKind.CUSTOMER, "Still burning.", ADA)
    assert context.events.kinds == ["message.received"]


def test_acknowledge_a_new_ticket_but_never_automated_mail(desk: Desk) -> None:
    context = desk.first(desk.context(customer_mail()))
    desk.run(context, OpenTicket(desk.config))
    Acknowledge(Acknowledger(desk.config, desk.renderer))(context)
    assert [(kind, recipients) for kind, recipients, _ in desk.outbox()] == [
        ("acknowledgement", [ADA])
    ]
    assert context.events.kinds[-1] == "acknowledgement.queued"

    alert = desk.first(desk.context(customer_mail(message_id="<a@c.example>"), mail_from=""))
    desk.run(alert, OpenTicket(desk.config), Acknowledge(Acknowledger(desk.config, desk.renderer)))
    assert len(desk.outbox("acknowledgement")) == 1 and alert.events.kinds == ["ticket.created"]


def test_notify_agents_tells_everyone_of_a_new_ticket_and_the_assignee_of_a_reply(
    desk: Desk,
) -> None:
    context = desk.first(desk.context(customer_mail(message_id=FIRST)))
    desk.run(context, OpenTicket(desk.config), StoreMessage())
    NotifyAgents(desk.config, desk.notifier)(context)
    assert sorted(r[0] for _, r, _ in desk.outbox("notification")) == [ALICE, BOB]
    assert context.events.kinds[-1] == "notification.queued"
    RecordEvents()(context)

    workflow.update_ticket(desk.connection, desk.ticket().id, {"assignee": BOB})
    answer = desk.first(desk.context(reply()))
    desk.run(answer, StoreMessage())
    NotifyAgents(desk.config, desk.notifier)(answer)
    assert [r[0] for _, r, _ in desk.outbox("notification")][2:] == [BOB]


def test_record_events_writes_the_trail_on_the_ticket_by_the_mails_actor(desk: Desk) -> None:
    opened(desk)
    context = desk.first(desk.context(reply()))
    context.record("something.happened", detail=1)
    RecordEvents()(context)
    assert desk.events()[-1] == ("something.happened", f"customer:{ADA}", {"detail": 1})


@pytest.fixture
def ruled_desk(tmp_path: Path, schema_file: Path) -> Iterator[Desk]:
    data = desk_data(tmp_path)
    data["rules"] = [
        {
            "name": "printers",
            "when": {"subject": ["printer"]},
            "then": {"category": "hardware", "assign": BOB},
        }
    ]
    yield from open_desk(tmp_path, schema_file, data)


def test_apply_rules_changes_the_ticket_and_says_whom_it_told(ruled_desk: Desk) -> None:
    desk = ruled_desk
    context = desk.first(desk.context(customer_mail()))
    desk.run(context, OpenTicket(desk.config), StoreMessage())
    ApplyRules(desk.notifier)(context)
    record = desk.ticket()
    assert (record.category, record.assignee) == ("hardware", BOB)
    assert context.notified == {BOB}  # the notice that follows skips Bob
    assert {"category.changed", "assignment.changed"} <= set(context.events.kinds)

    automated = desk.first(
        desk.context(customer_mail(subject="Printer", message_id="<x@c.example>"), mail_from="")
    )
    desk.run(automated, OpenTicket(desk.config))
    ApplyRules(desk.notifier)(automated)
    assert desk.ticket(1001).category is None
