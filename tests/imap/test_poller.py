"""The IMAP poller inside ``maild serve``, against a real Dovecot.

Mail is delivered with IMAP APPEND, the way a hosted mailbox fills up; what maild stored is
read from its database, what it did to the mailbox is read back from Dovecot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from maild.clock import ManualClock
from maild.config import Config
from maild.imap.poller import ImapPoller
from storage.models import ImapFolderState, Message, OutboxMessage, QuarantinedMessage
from tests.imap.dovecot import Dovecot
from tests.integration.test_receiver_limits import database_locked
from tests.mails import customer_mail
from tests.support import DaemonThread, eventually

pytestmark = pytest.mark.integration  # a real Dovecot

WAIT = 15.0


@contextmanager
def running(config: Config, clock: ManualClock) -> Iterator[DaemonThread]:
    daemon = DaemonThread(config, clock).start()
    try:
        yield daemon
    finally:
        daemon.stop()


def poller(daemon: DaemonThread) -> ImapPoller:
    [only] = daemon.service.pollers
    return only


def stored_ids(daemon: DaemonThread) -> list[str | None]:
    with daemon.runtime.sessions() as session:
        return list(session.scalars(select(Message.message_id).order_by(Message.id)))


def position(daemon: DaemonThread) -> tuple[int, int] | None:
    """The stored (UIDVALIDITY, last UID), written after the move or flag."""
    with daemon.runtime.sessions() as session:
        states = session.scalars(select(ImapFolderState)).all()
    return (states[0].uidvalidity, states[0].last_uid) if states else None


def mail(n: int, **kwargs) -> bytes:
    return customer_mail(
        subject=f"Question {n}", message_id=f"<imap-{n}@customer.example>", **kwargs
    )


def test_new_mail_arrives_through_idle_and_is_moved_after_commit(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(poll_interval=60.0)  # only IDLE can bring the mail within WAIT
    with running(config, clock) as daemon:
        assert eventually(lambda: poller(daemon).status.waiting_in_idle, WAIT)
        assert dovecot.message_ids(imap_user, "Processed") == []  # created, still empty
        dovecot.append(imap_user, mail(1))

        assert eventually(lambda: stored_ids(daemon) == ["<imap-1@customer.example>"], WAIT)
        assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
        assert dovecot.message_ids(imap_user, "Processed") == ["<imap-1@customer.example>"]
        assert poller(daemon).status.outcomes == {"new_ticket": 1}
        uidvalidity = dovecot.uidvalidity(imap_user)
        assert eventually(lambda: position(daemon) == (uidvalidity, 1), WAIT)
        with daemon.runtime.sessions() as session:
            [ack] = session.scalars(select(OutboxMessage)).all()
            [state] = session.scalars(select(ImapFolderState)).all()
        assert ack.kind == "acknowledgement"  # mail fetched over IMAP is live mail
        assert (state.account, state.username, state.folder) == ("test", imap_user, "INBOX")


def test_polling_without_idle_flags_mail_seen_and_fetches_it_once(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(idle=False, poll_interval=0.1, processed_folder="", mark_seen=True)
    # Read by a person in webmail before maild saw it: new all the same (UIDs, not \Seen).
    with dovecot.client(imap_user) as client:
        client.append("INBOX", mail(1), flags=[b"\\Seen"])
    dovecot.append(imap_user, mail(2))
    with running(config, clock) as daemon:
        status = poller(daemon).status
        assert eventually(lambda: len(stored_ids(daemon)) == 2, WAIT)
        checks = status.checks
        assert eventually(lambda: status.checks >= checks + 3, WAIT)  # more polls, nothing new
        assert not status.waiting_in_idle
        assert status.outcomes == {"new_ticket": 2}
        assert sorted(stored_ids(daemon)) == [
            "<imap-1@customer.example>",
            "<imap-2@customer.example>",
        ]
    assert dovecot.message_ids(imap_user) == [
        "<imap-1@customer.example>",
        "<imap-2@customer.example>",
    ]
    assert all(b"\\Seen" in flags for flags in dovecot.flags(imap_user))


def test_unwritable_database_leaves_mail_in_inbox_until_it_can_be_stored(
    imap_config: Callable[..., Config],
    dovecot: Dovecot,
    imap_user: str,
    clock: ManualClock,
    database_url: str,
) -> None:
    config = imap_config(poll_interval=0.2)
    with running(config, clock) as daemon:
        status = poller(daemon).status
        assert eventually(lambda: status.checks >= 1, WAIT)
        with database_locked(database_url):
            dovecot.append(imap_user, mail(1))
            assert eventually(lambda: status.deferred >= 2, WAIT)  # tried, and tried again
            assert dovecot.message_ids(imap_user) == ["<imap-1@customer.example>"]
            assert dovecot.message_ids(imap_user, "Processed") == []
        assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
        assert stored_ids(daemon) == ["<imap-1@customer.example>"]
        assert dovecot.message_ids(imap_user, "Processed") == ["<imap-1@customer.example>"]


def test_dovecot_restart_mid_run_reconnects(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(poll_interval=60.0)
    with running(config, clock) as daemon:
        status = poller(daemon).status
        dovecot.append(imap_user, mail(1))
        assert eventually(lambda: stored_ids(daemon) == ["<imap-1@customer.example>"], WAIT)
        assert eventually(lambda: status.waiting_in_idle, WAIT)

        dovecot.stop()
        assert eventually(lambda: not status.connected, WAIT)
        dovecot.start()
        dovecot.append(imap_user, mail(2))

        assert eventually(lambda: len(stored_ids(daemon)) == 2, WAIT)
        assert status.connects >= 2
        assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
    assert dovecot.message_ids(imap_user, "Processed") == [
        "<imap-1@customer.example>",
        "<imap-2@customer.example>",
    ]


def test_uidvalidity_change_loses_nothing_and_doubles_nothing(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(processed_folder="", mark_seen=True, poll_interval=0.2)
    dovecot.append(imap_user, mail(1))
    dovecot.append(imap_user, mail(2))
    with running(config, clock) as daemon:
        status = poller(daemon).status
        assert eventually(lambda: len(stored_ids(daemon)) == 2, WAIT)

        # The server renumbers the folder (as after a restore): every UID is void.
        dovecot.set_uidvalidity(imap_user, dovecot.uidvalidity(imap_user) + 1000)
        dovecot.append(imap_user, mail(3))

        assert eventually(lambda: len(stored_ids(daemon)) == 3, WAIT)
        assert eventually(lambda: status.outcomes["duplicate"] == 2, WAIT)
        assert sorted(stored_ids(daemon)) == [f"<imap-{n}@customer.example>" for n in (1, 2, 3)]
        uidvalidity = dovecot.uidvalidity(imap_user)
        assert eventually(lambda: position(daemon) == (uidvalidity, 3), WAIT)


def test_folder_recreated_while_maild_was_down_starts_over_from_uid_1(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(folder="Support", processed_folder="Support-done")
    for n in (1, 2, 3):
        dovecot.append(imap_user, mail(n), folder="Support")
    with running(config, clock) as daemon:
        assert eventually(lambda: len(stored_ids(daemon)) == 3, WAIT)
        assert eventually(lambda: dovecot.message_ids(imap_user, "Support") == [], WAIT)

    # New folder, new UIDVALIDITY, UIDs from 1 again: at or below the stored last UID 3.
    dovecot.recreate_folder(imap_user, "Support")
    dovecot.append(imap_user, mail(4), folder="Support")
    dovecot.append(imap_user, mail(2), folder="Support")  # delivered a second time
    dovecot.append(imap_user, mail(5), folder="Support")

    with running(config, clock) as daemon:
        status = poller(daemon).status
        assert eventually(lambda: status.stored == 3, WAIT)
        assert status.outcomes == {"new_ticket": 2, "duplicate": 1}
        assert sorted(stored_ids(daemon)) == [
            f"<imap-{n}@customer.example>" for n in (1, 2, 3, 4, 5)
        ]
    assert dovecot.message_ids(imap_user, "Support") == []


def test_restarted_maild_neither_repeats_nor_skips(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config(processed_folder="", mark_seen=True, idle=False, poll_interval=0.1)
    dovecot.append(imap_user, mail(1))
    dovecot.append(imap_user, mail(2))
    with running(config, clock) as daemon:
        assert eventually(lambda: poller(daemon).status.stored == 2, WAIT)
    dovecot.append(imap_user, mail(3))
    with running(config, clock) as daemon:
        status = poller(daemon).status
        assert eventually(lambda: status.stored == 1, WAIT)
        checks = status.checks
        assert eventually(lambda: status.checks >= checks + 2, WAIT)
        assert status.outcomes == {"new_ticket": 1}  # 1 and 2 were not fetched again
        assert sorted(stored_ids(daemon)) == [f"<imap-{n}@customer.example>" for n in (1, 2, 3)]


def test_mail_maild_cannot_process_is_quarantined_then_moved(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    config = imap_config()
    no_sender = (
        b"To: support@example.com\r\nSubject: who am I\r\nMessage-ID: <anon@x>\r\n\r\nhi\r\n"
    )
    with running(config, clock) as daemon:
        dovecot.append(imap_user, no_sender)
        assert eventually(lambda: dovecot.message_ids(imap_user, "Processed") == ["<anon@x>"], WAIT)
        assert poller(daemon).status.outcomes == {"quarantined": 1}
        with daemon.runtime.sessions() as session:
            [held] = session.scalars(select(QuarantinedMessage)).all()
        assert held.source == "imap" and held.mailbox == "support@example.com"
    assert dovecot.message_ids(imap_user) == []


def test_reply_to_the_token_address_threads(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    """Hosted mailboxes deliver support+TOKEN@ into the same inbox; the token in the
    delivery headers threads the reply, as the envelope would over SMTP."""
    config = imap_config()
    with running(config, clock) as daemon:
        dovecot.append(imap_user, mail(1))
        assert eventually(lambda: len(stored_ids(daemon)) == 1, WAIT)
        with daemon.runtime.sessions() as session:
            [first] = session.scalars(select(Message)).all()
            token = first.ticket.token
        reply = customer_mail(
            subject="no tag, no references",
            message_id="<imap-reply@customer.example>",
            to=f"support+{token}@example.com",
        )
        dovecot.append(imap_user, reply)
        outcomes = poller(daemon).status.outcomes
        assert eventually(lambda: outcomes == {"new_ticket": 1, "reply": 1}, WAIT)
        assert len(stored_ids(daemon)) == 2


def test_shutdown_ends_idle_and_logs_out(
    imap_config: Callable[..., Config], dovecot: Dovecot, imap_user: str, clock: ManualClock
) -> None:
    daemon = DaemonThread(imap_config(), clock).start()
    assert eventually(lambda: poller(daemon).status.waiting_in_idle, WAIT)
    daemon.stop()
    assert not poller(daemon)._thread.is_alive()
    assert eventually(
        lambda: any(
            f"imap({imap_user})" in line and "Logged out" in line
            for line in dovecot.log_tail(200).splitlines()
        ),
        WAIT,
    )
