"""The steps every mail takes first: is it new, is it automated, who sent it, which ticket it
continues (``maild.chains.first_chain``), each on its own against SQLite."""

from __future__ import annotations

import pytest

from maild.agents.steps.identify_agent import IdentifyAgent
from maild.pipeline.errors import Duplicate, Unprocessable
from maild.pipeline.steps.bounce import MatchBounce
from maild.pipeline.steps.classify import ClassifyAutomated
from maild.pipeline.steps.deduplicate import Deduplicate
from maild.pipeline.steps.follow_merged import FollowMerged
from maild.pipeline.steps.thread import Thread
from storage import workflow
from storage.models import MessageKind, TicketStatus
from tests.agents.mails import agent_mail
from tests.mails import customer_mail
from tests.pipeline.conftest import ADA, ALICE, Desk

FIRST = "<first@customer.example>"


def reply(**headers: str) -> bytes:
    return customer_mail(subject="Re: [ACME #1000] Printer on fire", **headers)


def dsn(original_message_id: str) -> bytes:
    """A delivery status report about our message ``original_message_id``."""
    return (
        "From: MAILER-DAEMON@mx.customer.example\nTo: support@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@mx.customer.example>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\n\n'
        "--b\nContent-Type: text/plain\n\nDelivery failed.\n"
        "--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
        f"Final-Recipient: rfc822; {ADA}\nAction: failed\nStatus: 5.1.1\n"
        f"--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: {original_message_id}\n\n"
        "--b--\n"
    ).encode()


def test_deduplicate_ends_the_job_for_a_message_already_stored(desk: Desk) -> None:
    first = customer_mail(message_id=FIRST)
    Deduplicate()(desk.context(first))  # not stored yet: goes on
    desk.deliver(first)
    with pytest.raises(Duplicate) as found:
        Deduplicate()(desk.context(first))
    assert found.value.ticket_number == 1000


@pytest.mark.parametrize(
    ("mail_from", "headers", "sender", "reason"),
    [
        (ADA, {}, "Ada <ada@customer.example>", None),
        ("", {}, "Ada <ada@customer.example>", "null-sender"),
        (ADA, {}, "Support <support@example.com>", "own-address"),
        (ADA, {"X-Loop": "support@example.com"}, "Ada <ada@customer.example>", "loop"),
        (ADA, {"Auto-Submitted": "auto-replied"}, "Ada <ada@customer.example>", "auto-replied"),
    ],
)
def test_classify_names_why_mail_is_automated(
    desk: Desk, mail_from: str, headers: dict[str, str], sender: str, reason: str | None
) -> None:
    context = desk.context(customer_mail(sender=sender, headers=headers), mail_from=mail_from)
    ClassifyAutomated(desk.mailboxes)(context)
    assert context.automated == reason
    assert context.kind == (MessageKind.CUSTOMER if reason is None else MessageKind.SYSTEM)


def test_identify_agent_trusts_the_configured_source_only(desk: Desk) -> None:
    mail = agent_mail("#priority high", to="support@example.com", auth=None)
    trusted = desk.context(mail, mail_from=ALICE, source="lmtp")
    IdentifyAgent(desk.config.trust)(trusted)
    assert trusted.agent is not None and trusted.agent.address == ALICE
    assert not trusted.suspect

    forged = desk.context(mail, mail_from=ALICE, source="smtp")
    IdentifyAgent(desk.config.trust)(forged)
    assert forged.agent is None and forged.suspect
    assert forged.events.kinds == ["agent.spoofing_suspect"]


def test_bounce_of_our_mail_goes_on_its_ticket_and_one_for_no_mail_of_ours_is_refused(
    desk: Desk,
) -> None:
    desk.deliver(customer_mail(message_id=FIRST))
    [(_, _, acknowledgement_id)] = desk.outbox("acknowledgement")
    context = desk.context(dsn(acknowledgement_id), mail_from="")
    MatchBounce()(context)
    assert context.ticket is not None and context.ticket.number == 1000
    assert context.threaded_by == "bounce" and context.kind == MessageKind.SYSTEM
    # Sent to the plain address, not the envelope sender of Ada's copy: it proves nothing.
    assert context.events.kinds == ["bounce.received", "bounce.unverified"]

    with pytest.raises(Unprocessable):
        MatchBounce()(desk.context(dsn("<someone-else@elsewhere.example>"), mail_from=""))


def test_thread_by_token_reference_tag_and_links_a_strangers_mail(desk: Desk) -> None:
    desk.deliver(customer_mail(message_id=FIRST))
    token = desk.ticket().token

    by_reference = desk.context(reply(in_reply_to=FIRST))
    Thread()(by_reference)
    assert by_reference.ticket is not None and by_reference.threaded_by == "references"

    by_token = desk.context(
        reply(sender="Carol <carol@customer.example>"),
        to=(f"support+{token}@example.com",),
        mail_from="carol@customer.example",
    )
    Thread()(by_token)
    assert by_token.ticket is not None and by_token.threaded_by == "reply-token"

    by_tag = desk.context(reply())
    Thread()(by_tag)
    assert by_tag.ticket is not None and by_tag.threaded_by == "subject-tag"

    stranger = desk.context(
        reply(sender="Mallory <mallory@evil.example>", in_reply_to=FIRST),
        mail_from="mallory@evil.example",
    )
    Thread()(stranger)
    assert stranger.ticket is None
    assert stranger.linked_ticket is not None and stranger.linked_ticket.number == 1000


def test_follow_merged_goes_on_the_ticket_merged_into(desk: Desk) -> None:
    desk.deliver(customer_mail(message_id=FIRST))
    desk.deliver(customer_mail(subject="Printer still on fire", message_id="<again@c.example>"))
    source, target = desk.ticket(1000), desk.ticket(1001)
    workflow.update_ticket(
        desk.connection, source.id, {"status": TicketStatus.CLOSED, "merged_into_id": target.id}
    )
    context = desk.context(reply(in_reply_to=FIRST))
    desk.run(context, Thread(), FollowMerged())
    assert context.ticket is not None and context.ticket.number == 1001
    assert context.events.kinds == ["message.followed_merge"]
