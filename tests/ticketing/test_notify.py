"""Notifier: who a target means, and what each recipient's notice looks like."""

from __future__ import annotations

import base64
import email
from datetime import timedelta
from email.policy import default as default_policy

import pytest
from sqlalchemy import Engine, select

from maild.config import config_from_mapping
from maild.ticketing.notify import Notifier, Recipient
from maild.ticketing.record import load_ticket
from outbound.compose import agent_thread_root_id, token_from_message_id
from outbound.templating import TemplateRenderer
from storage import tickets, watchers
from storage.models import MessageKind, OutboxMessage
from tests.ticketing.conftest import CREATED, TOKEN, new_ticket

POLICY = {
    "teams": [{"name": "billing", "address": "billing-team@example.com"}, {"name": "support"}],
    "agents": [
        {"address": "alice@example.com", "name": "Alice", "teams": ["support"]},
        {"address": "bob@example.com", "name": "Bob", "teams": ["support", "billing"]},
        {"address": "dave@example.com", "name": "Dave", "teams": ["support"], "active": False},
    ],
}


@pytest.fixture
def notifier() -> Notifier:
    config = config_from_mapping({"maild": {"ticket_prefix": "ACME"}, **POLICY})
    return Notifier(config, TemplateRenderer(None))


def _outbox(engine: Engine) -> list[OutboxMessage]:
    with engine.connect() as connection:
        return list(
            connection.execute(select(OutboxMessage.__table__).order_by(OutboxMessage.id)).all()
        )


def test_targets_resolve_to_people(notifier: Notifier, engine: Engine) -> None:
    record = new_ticket(engine)
    policy = notifier._config.policy
    assert notifier.resolve(record, ["team"], policy) == [
        Recipient("Alice", "alice@example.com"),
        Recipient("Bob", "bob@example.com"),
    ], "no team on the ticket: every active agent"
    record.team = "support"
    record.assignee = "bob@example.com"
    assert notifier.resolve(record, ["assignee", "billing", "requester", "X@Y.org"], policy) == [
        Recipient("Bob", "bob@example.com"),
        Recipient("billing", "billing-team@example.com"),
        Recipient("Carol", "carol@customer.org"),
        Recipient("", "x@y.org"),
    ]
    assert notifier.resolve(record, ["team", "assignee"], policy) == [
        Recipient("Alice", "alice@example.com"),
        Recipient("Bob", "bob@example.com"),
    ], "duplicates dropped, inactive Dave left out"


def test_each_recipient_gets_a_threaded_notice_of_their_own(
    notifier: Notifier, engine: Engine
) -> None:
    record = new_ticket(engine)
    with engine.begin() as connection:
        tickets.insert_message(
            connection,
            ticket_id=record.id,
            kind=MessageKind.CUSTOMER,
            mailbox="support@example.com",
            dedup_key="<m1@customer.org>",
            message_id="<m1@customer.org>",
            from_address="carol@customer.org",
            from_name="Carol",
            subject="Printer on fire",
            body="It burns {{ 7*7 }}\n\nOn Monday Bob wrote:\n> old",
            reply_text="It burns {{ 7*7 }} <b>now</b>",
            automated=None,
            raw=b"",
            sent_at=None,
            created_at=CREATED,
        )
    people = [Recipient("Alice", "alice@example.com"), Recipient("Bob", "bob@example.com")]
    policy = notifier._config.policy
    for minutes in (1, 2):
        with engine.begin() as connection:
            record = load_ticket(connection, record.id)
            sent = notifier.send(
                connection,
                record,
                people,
                template="notification",
                reason="New ticket from Carol",
                now=CREATED + timedelta(minutes=minutes),
                policy=policy,
                skip=["bob@example.com"] if minutes == 2 else (),
            )
        assert sent == (
            ["alice@example.com", "bob@example.com"] if minutes == 1 else ["alice@example.com"]
        )
    rows = _outbox(engine)
    assert [row.recipients for row in rows] == [
        ["alice@example.com"],
        ["bob@example.com"],
        ["alice@example.com"],
    ]
    first, _, second = (email.message_from_bytes(row.raw, policy=default_policy) for row in rows)
    root = agent_thread_root_id(TOKEN, "alice@example.com", "example.com")
    assert first["Message-ID"] == root and first["In-Reply-To"] is None
    assert second["In-Reply-To"] == root and second["References"] == root
    assert token_from_message_id(root) == TOKEN
    assert token_from_message_id(second["Message-ID"]) == TOKEN
    for message in (first, second):
        assert message["Subject"] == "[ACME #1000] Printer on fire"
        assert message["Reply-To"] == f"support+{TOKEN}@example.com"
        assert message["To"] == "Alice <alice@example.com>"
        assert message["Auto-Submitted"] == "auto-generated"
        assert message["Thread-Topic"] == "Printer on fire"
        assert "bob@example.com" not in message.as_string()
        text = message.get_body(("plain",)).get_content()
        assert "New ticket from Carol" in text
        assert "It burns {{ 7*7 }}" in text, "customer text is data, never a template"
        assert "> old" not in text, "the quoted history stays out"
        html = message.get_body(("html",)).get_content()
        assert "&lt;b&gt;now&lt;/b&gt;" in html and "<b>now</b>" not in html
    index_first = base64.b64decode(first["Thread-Index"])
    index_second = base64.b64decode(second["Thread-Index"])
    assert len(index_first) == 22 and len(index_second) == 27
    assert index_second[:22] == index_first, "one Outlook conversation per ticket and agent"


def test_watchers_get_every_notice_of_the_ticket_unless_it_is_personal(
    notifier: Notifier, engine: Engine
) -> None:
    """``#watch``: a watcher gets what the assignee gets (once, even when also named), an
    SLA warning as much as a reply; never an "assigned to you" meant for someone else, and
    nothing once they are no longer an agent."""
    record = new_ticket(engine)
    policy = notifier._config.policy
    with engine.begin() as connection:
        assert watchers.add_watcher(connection, record.id, "bob@example.com", CREATED)
        assert not watchers.add_watcher(connection, record.id, "Bob@example.com", CREATED)
        watchers.add_watcher(connection, record.id, "gone@example.com", CREATED)  # not an agent
    alice = [Recipient("Alice", "alice@example.com")]

    def send(recipients: list[Recipient], **options: object) -> list[str]:
        with engine.begin() as connection:
            return notifier.send(
                connection,
                record,
                recipients,
                template="notification",
                reason="Carol replied",
                now=CREATED,
                policy=policy,
                **options,  # type: ignore[arg-type]
            )

    assert send(alice) == ["alice@example.com", "bob@example.com"]
    assert send(alice, kind="sla_warning") == ["alice@example.com", "bob@example.com"]
    assert send([Recipient("Bob", "bob@example.com")]) == ["bob@example.com"]
    assert send(alice, to_watchers=False) == ["alice@example.com"]
    assert send([], skip=["bob@example.com"]) == []
    assert send([]) == ["bob@example.com"], "nobody else to tell: the watcher still hears"
    with engine.begin() as connection:
        assert watchers.remove_watcher(connection, record.id, "bob@example.com")
        assert not watchers.remove_watcher(connection, record.id, "bob@example.com")
    assert send(alice) == ["alice@example.com"]
