"""Answers written below the quote reach the customer without the quote, and internal notes
never do: the agent's quoted notification is cut wherever the agent wrote, and a relayed
text that still carries the notification or an internal note is kept as a note instead.
A customer's bottom-posted reply is stored (and matched by rules) without the quoted answer.

Through real SMTP; the agents' replies are built from the notification the sink received,
quoted byte for byte as mutt, Thunderbird and Outlook quote it.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from maild.config import Config, config_from_mapping
from parsing.html import html_to_text
from storage.models import MessageKind
from tests.agents.conftest import agents_data
from tests.agents.helpers import (
    ADA,
    events,
    messages,
    open_ticket,
    outbox,
    send_as_agent,
    sent_to,
    ticket,
)
from tests.agents.mails import TRUSTED, agent_mail
from tests.agents.test_commands import agent_error
from tests.support import DaemonThread, Received, Sink, eventually

NOTE = "Ada's account is three months overdue, do not tell her about the discount."
ANSWER = "Hello Ada,\n\nplease unplug the printer and open a window.\n\nAlice"
REFUND_RULE = {
    "name": "refunds",
    "when": {"event": "ticket.customer_replied", "body": ["refund"]},
    "then": {"tags": ["refund_request"]},
}


@pytest.fixture
def config(tmp_path: Path, database_url: str, sink: Sink) -> Config:
    data = agents_data(tmp_path, database_url, sink)
    data["rules"] = [REFUND_RULE]
    return config_from_mapping(data)


# -- the mail clients -------------------------------------------------------------------------


def plain_text(received: Received) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def _sender(received: Received) -> tuple[str, str]:
    """The display name and the address an answer to ``received`` goes to."""
    message = received.message
    [address] = (message["Reply-To"] or message["From"]).addresses
    return message["From"].addresses[0].display_name, address.addr_spec


def _raw(headers: list[tuple[str, str]], body: str) -> bytes:
    lines = [f"{name}: {value}" for name, value in headers]
    return ("\n".join(lines) + "\n\n" + body).encode()


def _quoted(text: str) -> str:
    return "".join(f"> {line}".rstrip() + "\n" for line in text.splitlines())


def mutt_reply(notice: Received, answer: str, *, after: str | None = None) -> bytes:
    """mutt's ``r``: attribution, every line quoted with "> ", the answer typed below (or,
    with ``after``, right under that line of the notification, the rest quoted below)."""
    name, to = _sender(notice)
    sent = parsedate_to_datetime(notice.message["Date"])
    attribution = f"On {sent:%a, %b %d, %Y at %I:%M:%S%p %z}, {name} wrote:"
    text = plain_text(notice)
    if after is None:
        body = f"{attribution}\n{_quoted(text)}\n{answer}\n"
    else:
        above, line, below = text.partition(after + "\n")
        body = f"{attribution}\n{_quoted(above + line)}\n{answer}\n\n{_quoted(below)}"
    notice_id = notice.message["Message-ID"]
    return _raw(
        [
            ("Authentication-Results", TRUSTED),
            ("Date", "Mon, 2 Mar 2026 09:30:12 +0000"),
            ("From", "Alice <alice@example.com>"),
            ("To", f"{name} <{to}>"),
            ("Subject", f"Re: {notice.message['Subject']}"),
            ("Message-ID", "<20260302093012.GA4711@example.com>"),
            ("References", notice_id),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Disposition", "inline"),
            ("Content-Transfer-Encoding", "8bit"),
            ("In-Reply-To", notice_id),
            ("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
        ],
        f"{body}\n-- \nAlice\n",
    )


def outlook_reply(notice: Received, quoted_text: str, answer: str) -> bytes:
    """Outlook in plain text, the answer typed below the message it quotes (Outlook marks
    no quoted line: only the header block above the quoted message)."""
    name, to = _sender(notice)
    return _raw(
        [
            ("Authentication-Results", TRUSTED),
            ("From", "Alice <alice@example.com>"),
            ("To", f"{name} <{to}>"),
            ("Subject", f"RE: {notice.message['Subject']}"),
            ("Thread-Topic", notice.message["Thread-Topic"] or notice.message["Subject"]),
            ("Date", "Mon, 2 Mar 2026 09:31:40 +0000"),
            ("Message-ID", "<DB9PR07MB7123A1B2C3D4E5F60718293AB@DB9PR07MB7123.eurprd07.prod>"),
            ("References", notice.message["Message-ID"]),
            ("In-Reply-To", notice.message["Message-ID"]),
            ("Content-Language", "en-US"),
            ("Content-Type", 'text/plain; charset="utf-8"'),
            ("Content-Transfer-Encoding", "8bit"),
            ("MIME-Version", "1.0"),
        ],
        "________________________________\n"
        f"From: {name} <{to}>\n"
        "Sent: Monday, March 2, 2026 9:00 AM\n"
        "To: Alice <alice@example.com>\n"
        f"Subject: {notice.message['Subject']}\n\n"
        f"{quoted_text}\n\n{answer}\n",
    )


def thunderbird_reply(relayed: Received, answer: str, message_id: str) -> bytes:
    """Ada answers the relayed reply in Thunderbird (plain text), below the quote."""
    name, to = _sender(relayed)
    quoted = _quoted(plain_text(relayed))
    answered = relayed.message["Message-ID"]
    return _raw(
        [
            ("Message-ID", message_id),
            ("Date", "Mon, 2 Mar 2026 10:02:51 +0000"),
            ("MIME-Version", "1.0"),
            ("User-Agent", "Mozilla Thunderbird"),
            ("Subject", f"Re: {relayed.message['Subject']}"),
            ("Content-Language", "en-GB"),
            ("To", str(Address(name, addr_spec=to))),
            ("References", f"{relayed.message['References']} {answered}"),
            ("From", "Ada Lovelace <ada@customer.example>"),
            ("In-Reply-To", answered),
            ("Content-Type", "text/plain; charset=UTF-8; format=flowed"),
            ("Content-Transfer-Encoding", "7bit"),
        ],
        f"On 02/03/2026 09:00, {name} wrote:\n{quoted}\n{answer}\n\n",
    )


# -- the story ---------------------------------------------------------------------------------


def note_then_customer_reply(daemon: DaemonThread, sink: Sink) -> tuple[str, Received]:
    """Bob notes something internal, Ada writes again: the notification Alice gets shows
    the note under "earlier in this ticket". Returns the ticket address and that notice."""
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    bob = "Bob <bob@example.com>"
    send_as_agent(daemon, agent_mail(f"#note\n{NOTE}", to=to, sender=bob), to, "bob@example.com")
    daemon.send(
        _raw(
            [
                ("From", "Ada Lovelace <ada@customer.example>"),
                ("To", "support@example.com"),
                ("Subject", "Re: [ACME #1000] Printer on fire"),
                ("Message-ID", "<second@customer.example>"),
                ("In-Reply-To", "<first@customer.example>"),
                ("Date", "Mon, 2 Mar 2026 09:10:00 +0000"),
            ],
            "It is still burning.\n",
        ),
        mail_from=ADA,
    )

    def notices() -> list[Received]:
        return [
            r
            for r in sink.received
            if r.rcpt_tos == ("alice@example.com",) and "still burning" in plain_text(r)
        ]

    assert eventually(lambda: bool(notices()))
    [notice] = notices()
    assert NOTE in plain_text(notice) and "earlier in this ticket" in plain_text(notice)
    return to, notice


def everything_ada_got(daemon: DaemonThread, sink: Sink) -> str:
    daemon.flush_outbox()
    texts = []
    for received in sink.received:
        if ADA in received.rcpt_tos:
            texts.append(received.raw.decode("utf-8", "replace"))
            texts += [
                part.get_content()
                for part in received.message.walk()
                if part.get_content_maintype() == "text"
            ]
    return "\n".join(texts)


def test_agent_bottom_posting_under_a_notification_relays_only_the_new_text(
    daemon: DaemonThread, sink: Sink
) -> None:
    to, notice = note_then_customer_reply(daemon, sink)
    send_as_agent(daemon, mutt_reply(notice, ANSWER), to)

    _, reply = sent_to(sink, ADA, 2)
    assert plain_text(reply).strip() == ANSWER
    got = everything_ada_got(daemon, sink)
    assert "three months overdue" not in got
    assert "internal note" not in got and "earlier in this ticket" not in got
    stored = messages(daemon, 1000)[-1]
    assert (stored.kind, stored.reply_text) == (MessageKind.AGENT, ANSWER)


def test_agent_answering_between_quoted_lines_relays_only_the_answer(
    daemon: DaemonThread, sink: Sink
) -> None:
    """Inline answers: the quoted lines around them, the note among them, stay behind."""
    to, notice = note_then_customer_reply(daemon, sink)
    answer = "Please call the fire brigade now."
    send_as_agent(daemon, mutt_reply(notice, answer, after="It is still burning."), to)

    _, reply = sent_to(sink, ADA, 2)
    assert plain_text(reply).strip() == answer
    got = everything_ada_got(daemon, sink)
    assert "three months overdue" not in got and "still burning" not in got


def test_pasted_internal_note_is_withheld_kept_as_note_and_the_agent_told(
    daemon: DaemonThread, sink: Sink
) -> None:
    to, _ = note_then_customer_reply(daemon, sink)
    pasted = f"#priority high\nHello Ada,\n\nwe are on it.\n\n{NOTE}"
    send_as_agent(daemon, agent_mail(pasted, to=to, style="outlook"), to)

    assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]
    assert "three months overdue" not in everything_ada_got(daemon, sink)
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.NOTE and NOTE in stored.reply_text
    trail = {(e.kind, e.data.get("reason")) for e in events(daemon, 1000)}
    assert ("reply.withheld", "internal note") in trail
    assert ("note.added", "reply withheld") in trail
    assert ticket(daemon, 1000).priority == "medium"  # nothing of that mail took effect
    told = agent_error(sink).get_content()
    assert "internal note of this ticket" in told
    assert "nothing of it was sent to the customer" in " ".join(told.split())


@pytest.mark.parametrize("part", ["plain", "html"])
def test_outlook_answer_under_the_quoted_notification_is_withheld(
    daemon: DaemonThread, sink: Sink, part: str
) -> None:
    """Outlook marks no quoted line, so the notification cannot be cut from an answer
    typed below it: the guard finds the notification's own lines and holds the answer."""
    to, notice = note_then_customer_reply(daemon, sink)
    if part == "plain":
        quoted = plain_text(notice)
    else:
        html = notice.message.get_body(("html",))
        assert html is not None
        quoted, _ = html_to_text(html.get_content())
    send_as_agent(daemon, outlook_reply(notice, quoted, ANSWER), to)

    assert [row.kind for row in outbox(daemon) if ADA in row.recipients] == ["acknowledgement"]
    assert "three months overdue" not in everything_ada_got(daemon, sink)
    assert messages(daemon, 1000)[-1].kind == MessageKind.NOTE
    [withheld] = [e for e in events(daemon, 1000) if e.kind == "reply.withheld"]
    assert withheld.data["reason"] == "notification quoted"
    assert "quoted notification" in agent_error(sink).get_content()


def test_own_draft_sent_again_with_send_is_not_withheld(daemon: DaemonThread, sink: Sink) -> None:
    """billing@ keeps agent mail as a note: the same text again with ``#send`` is the
    agent's own draft going out, not a leak."""
    opened = open_ticket(daemon, to="billing@example.com", message_id="<bill@customer.example>")
    to = f"billing+{opened.token}@example.com"
    draft = "We will refund the full amount of 120 EUR this week."
    bob = "Bob <bob@example.com>"
    send_as_agent(daemon, agent_mail(draft, to=to, sender=bob), to, "bob@example.com")
    send_as_agent(daemon, agent_mail(f"#send\n{draft}", to=to, sender=bob), to, "bob@example.com")
    _, reply = sent_to(sink, ADA, 2)
    assert plain_text(reply).strip() == draft


def test_customer_bottom_posting_stores_only_the_new_text_and_rules_ignore_the_quote(
    daemon: DaemonThread, sink: Sink
) -> None:
    opened = open_ticket(daemon)
    to = f"support+{opened.token}@example.com"
    send_as_agent(daemon, agent_mail("Hello Ada,\n\nwe will refund the cartridge.", to=to), to)
    _, relayed = sent_to(sink, ADA, 2)

    daemon.send(
        thunderbird_reply(
            relayed,
            "Thank you, the printer works again.",
            "<5f0c7a3e-9d21-4b8e-a6f4-2c1d0e9b8a7f@customer.example>",
        ),
        mail_from=ADA,
    )
    stored = messages(daemon, 1000)[-1]
    assert stored.kind == MessageKind.CUSTOMER
    assert stored.reply_text == "Thank you, the printer works again."
    assert ticket(daemon, 1000).tags == []  # "refund" was only in the quoted answer
    assert not [e for e in events(daemon, 1000) if e.actor == "rule:refunds"]

    # The rule does match what a customer writes.
    daemon.send(
        thunderbird_reply(
            relayed,
            "On second thought, I want a refund.",
            "<8a1b2c3d-4e5f-4a6b-9c7d-0e1f2a3b4c5d@customer.example>",
        ),
        mail_from=ADA,
    )
    assert ticket(daemon, 1000).tags == ["refund_request"]
