"""``maild import --dry-run`` is the import itself, on a scratch copy of the database: it
says exactly what the real import then does, and leaves the live database as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from maild.config import Config
from maild.runtime import Runtime
from maild.ticketing.editor import TicketEditor
from maild.ticketing.record import find_ticket
from parsing import problems
from storage.engine import writer_engine
from storage.models import (
    Counter,
    Event,
    Message,
    OutboxMessage,
    QuarantinedMessage,
    Ticket,
    TicketStatus,
)
from storage.schema import SchemaState, schema_state
from tests.conftest import config_data
from tests.importing.archives import thread_mail, write_mbox
from tests.importing.test_import import run_import
from tests.integration.test_receiver_limits import database_locked
from tests.support import Sink, write_toml

ADA = "Ada Lovelace <ada@customer.example>"
BOB = "Bob <bob@customer.example>"
CAROL = "Carol <carol@customer.example>"
NO_FROM = (
    b"To: support@example.com\nSubject: who wrote this?\nMessage-ID: <anon@x>\n"
    b"Date: Mon, 06 Jan 2025 20:00:00 +0000\n\nhi\n"
)
TABLES = (Ticket, Message, Event, OutboxMessage, QuarantinedMessage)


def history() -> list[bytes]:
    """#1000 from Ada (stays open), #1001 from Bob (closed by the test)."""
    return [thread_mail(1, sender=ADA), thread_mail(2, sender=BOB)]


def archive() -> list[bytes]:
    """One of each thing intake decides, in Date order (mail ``n`` is sent at ``n`` hours)."""
    return [
        thread_mail(10, parent=1, sender=ADA),  # Ada answers her #1000: a reply
        # A stranger with #1000's tag, and one with Ada's Message-ID: new tickets linking it.
        thread_mail(11, sender="Eve <eve@stranger.example>", subject="Re: [ACME #1000] Hi"),
        thread_mail(12, parent=1, sender="Mallory <mallory@stranger.example>"),
        thread_mail(13, parent=2, sender=BOB),  # to the closed #1001: a follow-up ticket
        thread_mail(14, sender=CAROL),  # new
        thread_mail(15, parent=14, sender=CAROL),  # answers 14, only in this archive
        thread_mail(
            16,
            sender="Monitor <monitor@ops.example>",
            subject="Disk full",
            headers={"Auto-Submitted": "auto-generated"},
        ),
        NO_FROM,  # quarantined
        thread_mail(1, sender=ADA),  # stored already: a duplicate
        thread_mail(17, sender=ADA, subject="Re: [ACME #1000] one more thing"),  # a reply
    ]


def close_ticket(config: Config, number: int) -> None:
    with Runtime.open(config) as runtime, writer_engine(runtime.engine).begin() as connection:
        record = find_ticket(connection, number)
        assert record is not None
        editor = TicketEditor(connection, record, runtime.clock.now(), "agent:alice@example.com")
        editor.set_status(TicketStatus.CLOSED)
        editor.save()


def snapshot(database_url: str) -> dict[str, Any]:
    """Rows per table and the ticket counter: what a dry run must leave as it found it."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = {
                model.__tablename__: connection.execute(
                    select(func.count()).select_from(model)
                ).scalar_one()
                for model in TABLES
            }
            counters = dict(connection.execute(select(Counter.name, Counter.value)).all())
    finally:
        engine.dispose()
    return {"rows": counts, "counters": counters}


def stored_tickets(database_url: str, above: int) -> list[tuple[Any, ...]]:
    """Tickets numbered above ``above``: number, requester, status, linked ticket's number."""
    engine = create_engine(database_url)
    linked = Ticket.__table__.alias("linked")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Ticket.number, Ticket.requester, Ticket.status, linked.c.number)
                .outerjoin(linked, linked.c.id == Ticket.linked_ticket_id)
                .where(Ticket.number > above)
                .order_by(Ticket.number)
            ).all()
    finally:
        engine.dispose()
    return [(row[0], row[1], str(row[2]), row[3]) for row in rows]


def messages_on(database_url: str, numbers: tuple[int, ...]) -> dict[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(Ticket.number, func.count(Message.id))
                .join(Message, Message.ticket_id == Ticket.id)
                .where(Ticket.number.in_(numbers))
                .group_by(Ticket.number)
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


COUNTS = ("new_tickets", "replies", "duplicates", "quarantined", "automated", "deferred")


def test_dry_run_and_real_import_agree_on_every_kind_of_mail(
    tmp_path: Path, config: Config, config_file: Path, database_url: str, sink: Sink
) -> None:
    # keep-open: what live intake would do (open tickets, follow-ups, acknowledgements).
    run_import(
        config_file, str(write_mbox(tmp_path / "history.mbox", history())), "--status", "keep-open"
    )
    close_ticket(config, 1001)
    mbox = write_mbox(tmp_path / "archive.mbox", archive())
    before = snapshot(database_url)
    on_old_tickets = messages_on(database_url, (1000, 1001))

    dry = run_import(config_file, str(mbox), "--dry-run", "--notify", "--status", "keep-open")
    assert dry["dry_run"] is True
    assert snapshot(database_url) == before  # nothing stored, the counter untouched
    assert sink.received == []  # nothing sent

    real = run_import(config_file, str(mbox), "--notify", "--status", "keep-open")
    assert real["dry_run"] is False
    assert {key: dry[key] for key in COUNTS} == {key: real[key] for key in COUNTS}
    assert {key: real[key] for key in COUNTS} == {
        "new_tickets": 5,  # 11, 12, 13, 14, 16
        "replies": 3,  # 10, 15, 17
        "duplicates": 1,
        "quarantined": 1,
        "automated": 1,
        "deferred": 0,
    }

    # The same tickets, with the same numbers: the dry run took none from the counter.
    stored = stored_tickets(database_url, 1001)
    would = [
        (ticket["number"], ticket["requester"], ticket["status"], ticket["linked_to"])
        for ticket in dry["would"]["tickets"]
    ]
    assert would == stored
    assert [(number, linked) for number, _, _, linked in stored] == [
        (1002, 1000),  # Eve: the tag of a ticket she is not on
        (1003, 1000),  # Mallory: a customer's Message-ID is no secret
        (1004, 1001),  # Bob to his closed ticket: a follow-up
        (1005, None),  # Carol, whose reply 15 threads onto it
        (1006, None),  # the monitoring alert
    ]
    assert dry["linked"] == 3

    # Replies on the tickets stored before, as the real import added them.
    added = {
        number: count - on_old_tickets.get(number, 0)
        for number, count in messages_on(database_url, (1000, 1001)).items()
    }
    assert {r["number"]: r["messages"] for r in dry["would"]["replies"]} == {
        n: k for n, k in added.items() if k
    }
    assert added == {1000: 2, 1001: 0}

    assert [q["reason"] for q in dry["would"]["quarantine"]] == [problems.NO_FROM]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        reasons = connection.execute(select(QuarantinedMessage.error)).scalars().all()
        kinds = connection.execute(
            select(OutboxMessage.kind, OutboxMessage.recipients).order_by(OutboxMessage.id)
        ).all()
    engine.dispose()
    assert reasons == [problems.NO_FROM]
    # --notify: what the dry run said would be sent is what the import queued.
    assert [(mail["kind"], mail["to"]) for mail in dry["would"]["mail"]] == [
        (kind, recipients) for kind, recipients in kinds
    ]
    assert dry["would"]["mail"], "the new tickets of open threads are acknowledged"


def test_dry_run_without_a_database_creates_none(
    tmp_path: Path, config_file: Path, database_url: str
) -> None:
    mbox = write_mbox(tmp_path / "a.mbox", [thread_mail(1), thread_mail(2, parent=1)])
    dry = run_import(config_file, str(mbox), "--dry-run")
    assert (dry["new_tickets"], dry["replies"]) == (1, 1)
    assert [ticket["number"] for ticket in dry["would"]["tickets"]] == [1000]
    if database_url.startswith("sqlite"):
        assert not Path(database_url.removeprefix("sqlite:///")).exists()
    else:
        engine = create_engine(database_url)
        assert schema_state(engine) is SchemaState.EMPTY  # no schema was created
        engine.dispose()


def test_dry_run_needs_no_write_lock(tmp_path: Path, sqlite_url: str) -> None:
    """A writer holding the SQLite database (the daemon, a long import) does not stop a dry
    run, and the dry run does not stop it: the copy is made in a read transaction."""
    config_file = tmp_path / "config.toml"
    write_toml(config_data(tmp_path, sqlite_url), config_file)
    run_import(config_file, str(write_mbox(tmp_path / "h.mbox", [thread_mail(1)])))
    mbox = write_mbox(tmp_path / "a.mbox", [thread_mail(2, parent=1), thread_mail(3)])
    with database_locked(sqlite_url):
        dry = run_import(config_file, str(mbox), "--dry-run")
    assert (dry["new_tickets"], dry["replies"], dry["deferred"]) == (1, 1, 0)
