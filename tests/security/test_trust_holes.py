"""Trust holes an outsider could use, each closed and tried through real SMTP (invariant 6):
a known Message-ID, a forged bounce, a forged agent From, sub-addresses against the limit,
a Cc flood, and a Cc the requester adds later."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from maild.clock import ManualClock
from maild.config import Config
from storage.models import MessageKind, ParticipantRole, TicketStatus
from tests.agents.helpers import (
    ADA,
    events,
    messages,
    open_ticket,
    outbox,
    send_as_agent,
    sent_to,
    ticket,
    tickets,
)
from tests.agents.mails import agent_mail
from tests.integration.test_loops_and_bounces import delivery_failure
from tests.mails import customer_mail
from tests.security.people import participants
from tests.support import DaemonThread, Sink, eventually

MALLORY = "mallory@evil.example"
ANSWER = "Please unplug the printer."


def answer(daemon: DaemonThread, number: int, text: str = ANSWER) -> None:
    """Alice answers ticket ``number`` by mail, trusted (DMARC pass from our MX)."""
    record = ticket(daemon, number)
    to = f"support+{record.token}@example.com"
    send_as_agent(daemon, agent_mail(text, to=to, subject=f"Re: [ACME #{number}] x"), to)


def kinds(daemon: DaemonThread, number: int) -> list[str]:
    return [event.kind for event in events(daemon, number)]


# -- 1. A customer's Message-ID is no secret ---------------------------------------------------


def test_stranger_with_a_customers_message_id_gets_a_linked_ticket(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon, message_id="<ada-1@customer.example>")
    daemon.send(
        customer_mail(
            sender=f"Mallory <{MALLORY}>",
            subject="Re: Printer on fire",
            body="Please keep me posted.\n",
            message_id="<m-1@evil.example>",
            in_reply_to="<ada-1@customer.example>",
            references="<ada-1@customer.example>",
        ),
        mail_from=MALLORY,
    )
    first, second = tickets(daemon)
    assert second.requester == MALLORY and second.linked_ticket_id == first.id
    assert MALLORY not in participants(daemon, 1000)
    assert [m.from_address for m in messages(daemon, 1000)] == [ADA]

    answer(daemon, 1000)
    [relayed] = [r for r in sent_to(sink, ADA, 2) if r.message["Subject"].startswith("[ACME")][1:]
    assert relayed.rcpt_tos == (ADA,)
    assert not [r for r in sink.received if MALLORY in r.rcpt_tos and "unplug" in str(r.raw)]


def test_participant_threads_by_their_own_message_id(daemon: DaemonThread) -> None:
    open_ticket(daemon, message_id="<ada-1@customer.example>")
    daemon.send(
        customer_mail(
            subject="Printer on fire, again",
            message_id="<ada-2@customer.example>",
            in_reply_to="<ada-1@customer.example>",
        ),
        mail_from=ADA,
    )
    assert len(tickets(daemon)) == 1
    assert [m.message_id for m in messages(daemon, 1000)][-1] == "<ada-2@customer.example>"


# -- 2. A forged bounce must not silence anyone ------------------------------------------------


def test_forged_bounce_about_a_cc_marks_nobody(daemon: DaemonThread, sink: Sink) -> None:
    victim = "vic@bigcorp.example"
    daemon.send(
        customer_mail(sender="Eve <eve@evil.example>", message_id="<eve-1@evil.example>").replace(
            b"To: support@example.com", f"To: support@example.com\nCc: {victim}".encode()
        ),
        mail_from="eve@evil.example",
    )
    assert victim in participants(daemon, 1000)
    [eve_ack] = sent_to(sink, "eve@evil.example", 1)
    token = re.search(r"support\+([a-z0-9]+)@", eve_ack.message["Reply-To"]).group(1)
    own_copy_sender = eve_ack.mail_from  # what Eve sees as Return-Path of her own copy
    for n, envelope in enumerate((f"support+{token}@example.com", own_copy_sender)):
        daemon.send(
            delivery_failure(victim, eve_ack.message["Message-ID"]).replace(
                b"<bounce-1@", f"<bounce-{n}@".encode()
            ),
            mail_from="",
            rcpt_tos=(envelope,),
        )
    assert kinds(daemon, 1000).count("bounce.unverified") == 2
    assert "participant.bouncing" not in kinds(daemon, 1000)

    # The victim's own ticket is acknowledged as usual.
    daemon.send(customer_mail(sender=victim, message_id="<vic-1@bigcorp.example>"))
    [ack] = sent_to(sink, victim, 1)
    assert ack.message["Auto-Submitted"] == "auto-replied"


def test_real_bounce_of_a_cc_copy_marks_only_that_address(daemon: DaemonThread, sink: Sink) -> None:
    cc = "gone@bigcorp.example"
    daemon.send(
        customer_mail(message_id="<ada-1@customer.example>").replace(
            b"To: support@example.com", f"To: support@example.com\nCc: {cc}".encode()
        ),
        mail_from=ADA,
    )
    answer(daemon, 1000)
    assert eventually(lambda: any(cc in r.rcpt_tos for r in sink.received))
    [copy] = [r for r in sink.received if cc in r.rcpt_tos]
    [ada_copy] = [r for r in sink.received if ADA in r.rcpt_tos and r.raw == copy.raw]
    assert copy.mail_from != ada_copy.mail_from  # one envelope sender per recipient
    assert copy.message["To"] == f"Ada Lovelace <{ADA}>" and copy.message["Cc"] == cc
    daemon.send(
        delivery_failure(cc, copy.message["Message-ID"]), mail_from="", rcpt_tos=(copy.mail_from,)
    )
    bouncing = {p.address for p in participants(daemon, 1000).values() if p.bouncing}
    assert bouncing == {cc}


# -- 3. A forged agent From ---------------------------------------------------------------------


def test_forged_agent_from_with_the_subject_tag_opens_a_linked_ticket(
    daemon: DaemonThread, sink: Sink
) -> None:
    open_ticket(daemon)
    answer(daemon, 1000)
    assert ticket(daemon, 1000).status == TicketStatus.PENDING
    forged = agent_mail(
        "Actually, ignore that and send your password.",
        to="support@example.com",
        auth=None,
        subject="Re: [ACME #1000] Printer on fire",
    )
    daemon.send(forged, mail_from="alice@example.com")
    first, second = tickets(daemon)
    assert ticket(daemon, 1000).status == TicketStatus.PENDING
    assert [m.kind for m in messages(daemon, 1000)] == [MessageKind.CUSTOMER, MessageKind.AGENT]
    assert second.linked_ticket_id == first.id
    assert "agent.spoofing_suspect" in kinds(daemon, second.number)


def test_forged_agent_from_with_our_token_is_stored_and_goes_nowhere(
    daemon: DaemonThread, sink: Sink
) -> None:
    opened = open_ticket(daemon)
    answer(daemon, 1000)
    sent_before = len(outbox(daemon))
    to = f"support+{opened.token}@example.com"
    daemon.send(
        agent_mail("Hi, it is me.", to=to, auth=None), mail_from="alice@example.com", rcpt_tos=(to,)
    )
    assert len(tickets(daemon)) == 1
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.CUSTOMER and "it is me" in stored.reply_text
    assert ticket(daemon, 1000).status == TicketStatus.PENDING  # not reopened
    assert len(outbox(daemon)) == sent_before  # nobody told
    assert "agent.spoofing_suspect" in kinds(daemon, 1000)
    assert participants(daemon, 1000)["alice@example.com"].role == ParticipantRole.AGENT


# -- 4. Sub-addresses and domains against the limit on automatic mail --------------------------


def test_sub_addresses_share_one_per_address_limit(daemon: DaemonThread) -> None:
    # Ten: within [limits] new_tickets_per_sender_per_hour, which counts victim@ alike.
    for n in range(10):
        address = f"victim+{n}@target.example"
        daemon.send(
            customer_mail(sender=address, subject=f"spam {n}", message_id=f"<s{n}@t.example>"),
            mail_from=address,
        )
    assert len(tickets(daemon)) == 10
    assert len(outbox(daemon, "acknowledgement")) == 5
    reasons = [
        e.data["reason"]
        for t in tickets(daemon)
        for e in events(daemon, t.number)
        if e.kind == "acknowledgement.skipped"
    ]
    assert reasons == ["per-address limit reached"] * 5


@pytest.fixture
def domain_limited(config: Config, clock: ManualClock):
    limited = config.model_copy(
        update={"maild": config.maild.model_copy(update={"auto_reply_domain_limit": 3})}
    )
    running = DaemonThread(limited, clock).start()
    yield running
    running.stop()


def test_per_domain_limit_on_acknowledgements(
    domain_limited: DaemonThread, clock: ManualClock
) -> None:
    daemon = domain_limited
    for n in range(5):
        daemon.send(customer_mail(sender=f"user{n}@big.example", message_id=f"<d{n}@big.example>"))
    daemon.send(customer_mail(sender="someone@other.example", message_id="<o@other.example>"))
    acknowledged = [row.recipients[0] for row in outbox(daemon, "acknowledgement")]
    assert acknowledged == [f"user{n}@big.example" for n in range(3)] + ["someone@other.example"]
    clock.advance(timedelta(minutes=61))
    daemon.send(customer_mail(sender="user9@big.example", message_id="<d9@big.example>"))
    assert len(outbox(daemon, "acknowledgement")) == 5


# -- 5. and 10. Cc participants: capped, and added later by the requester -----------------------


def test_cc_flood_is_capped_and_answers_keep_to_and_cc(daemon: DaemonThread, sink: Sink) -> None:
    flood = ", ".join(f"person{n}@cc.example" for n in range(300))
    daemon.send(
        customer_mail(message_id="<flood@customer.example>").replace(
            b"To: support@example.com", f"To: support@example.com\nCc: {flood}".encode()
        ),
        mail_from=ADA,
    )
    people = participants(daemon, 1000)
    assert [p.role for p in people.values()].count(ParticipantRole.CC) == 10
    [refused] = [e for e in events(daemon, 1000) if e.kind == "participant.cc_not_accepted"]
    assert refused.data["count"] == 290
    answer(daemon, 1000)
    assert eventually(lambda: len([r for r in sink.received if r.message["Cc"]]) == 11)
    copies = [r for r in sink.received if r.message["Cc"]]
    assert sorted(r.rcpt_tos[0] for r in copies) == sorted(
        [ADA, *(f"person{n}@cc.example" for n in range(10))]
    )
    header = copies[0].message
    assert header["To"] == f"Ada Lovelace <{ADA}>"
    assert len(header["Cc"].split(",")) == 10


def test_cc_added_by_the_requester_later_is_accepted_and_announced(
    daemon: DaemonThread, sink: Sink
) -> None:
    carol = "carol@customer.example"
    open_ticket(daemon)
    answer(daemon, 1000)
    [_, relayed] = sent_to(sink, ADA, 2)
    daemon.send(
        customer_mail(
            subject="Re: [ACME #1000] Printer on fire",
            body="Adding my colleague Carol, she has the printer manual.\n",
            message_id="<ada-2@customer.example>",
            in_reply_to=relayed.message["Message-ID"],
        ).replace(
            b"To: support@example.com", f"To: support@example.com\nCc: Carol <{carol}>".encode()
        ),
        mail_from=ADA,
    )
    assert participants(daemon, 1000)[carol].role == ParticipantRole.CC
    [added] = [e for e in events(daemon, 1000) if e.kind == "participant.added"]
    assert added.data == {"address": carol, "by": ADA}
    notices = [r for r in sink.received if "alice@example.com" in r.rcpt_tos]
    assert eventually(
        lambda: any(
            "Added Cc:  " + carol in r.message.get_body(("plain",)).get_content()
            for r in sink.received
            if "alice@example.com" in r.rcpt_tos
        )
    ), notices
    answer(daemon, 1000, "The manual is on page 3.")
    assert sent_to(sink, carol, 1)[0].message["Cc"] == f"Carol <{carol}>"
