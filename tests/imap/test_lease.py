"""One IMAP account, two instances on one database: one reads it at a time (DECISIONS
"Several instances"), against a real Dovecot.

Both instances are ``maild serve`` services of their own in this process, on one database
and one clock; the lease runs on that (manual) clock, so a test lets a lease run out by
advancing it, not by waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from maild.clock import ManualClock
from maild.config import Config
from maild.imap.poller import ImapPoller
from storage.engine import writer_engine
from storage.imap_lease import current_lease, take_lease
from storage.models import Message
from tests.imap.dovecot import Dovecot
from tests.mails import customer_mail
from tests.support import DaemonThread, eventually

pytestmark = pytest.mark.integration  # a real Dovecot

WAIT = 15.0
LEASE = 3.0  # seconds of the manual clock; the pollers renew every second of real time


@pytest.fixture
def instances(clock: ManualClock) -> Iterator[Callable[[Config], DaemonThread]]:
    with ExitStack() as stack:

        def start(config: Config) -> DaemonThread:
            daemon = DaemonThread(config, clock).start()
            stack.callback(daemon.stop)
            return daemon

        yield start


def poller(daemon: DaemonThread) -> ImapPoller:
    [only] = daemon.service.pollers
    return only


def mail(n: int) -> bytes:
    # A sender of its own per mail: the new-ticket limit per sender stays out of the way.
    return customer_mail(
        subject=f"Question {n}",
        sender=f"Customer {n} <c{n}@customer.example>",
        message_id=f"<lease-{n}@customer.example>",
    )


def stored(daemon: DaemonThread) -> dict[str, int]:
    """Message-ID -> how many times it is stored."""
    with daemon.runtime.sessions() as session:
        rows = session.execute(
            select(Message.message_id, func.count()).group_by(Message.message_id)
        ).all()
    return {message_id: count for message_id, count in rows}


def wanted(numbers: range) -> dict[str, int]:
    return {f"<lease-{n}@customer.example>": 1 for n in numbers}


def test_two_instances_read_one_account_one_at_a_time_and_store_each_message_once(
    imap_config: Callable[..., Config],
    dovecot: Dovecot,
    imap_user: str,
    instances: Callable[[Config], DaemonThread],
) -> None:
    config = imap_config(idle=False, poll_interval=0.2, lease=LEASE)
    for n in range(5):
        dovecot.append(imap_user, mail(n))
    first = instances(config)
    second = instances(config)
    reading, waiting = poller(first).status, poller(second).status
    assert eventually(lambda: reading.holds_lease, WAIT)
    assert eventually(lambda: waiting.lease_waits >= 3, WAIT)  # it looked, and looked again
    for n in range(5, 20):
        dovecot.append(imap_user, mail(n))

    assert eventually(lambda: stored(first) == wanted(range(20)), WAIT)
    assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
    assert reading.stored == 20 and reading.outcomes == {"new_ticket": 20}
    # The second instance never logged in, let alone fetched.
    assert (waiting.connects, waiting.checks, waiting.stored) == (0, 0, 0)
    assert not waiting.holds_lease

    # The first stops (cleanly: it gives the lease up); the second takes the account over.
    first.stop()
    assert eventually(lambda: waiting.holds_lease, WAIT)
    for n in range(20, 25):
        dovecot.append(imap_user, mail(n))
    assert eventually(lambda: stored(second) == wanted(range(25)), WAIT)
    assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
    assert waiting.stored == 5 and waiting.outcomes == {"new_ticket": 5}
    assert sorted(dovecot.message_ids(imap_user, "Processed")) == sorted(wanted(range(25)))


def test_the_account_of_an_instance_that_died_is_taken_over_when_its_lease_runs_out(
    imap_config: Callable[..., Config],
    dovecot: Dovecot,
    imap_user: str,
    clock: ManualClock,
    instances: Callable[[Config], DaemonThread],
) -> None:
    config = imap_config(idle=False, poll_interval=0.2, lease=LEASE)
    survivor = instances(config)
    status = poller(survivor).status
    assert eventually(lambda: status.holds_lease, WAIT)
    # An instance on another host takes the account over (its clock is ahead: for it this
    # one's lease ran out long ago) and dies at once, without giving it up.
    dead, key = "mx1.example:4242:dead", poller(survivor).key
    taken_at = clock.now() + timedelta(seconds=10 * LEASE)
    with writer_engine(survivor.runtime.engine).begin() as db:
        assert take_lease(db, key, dead, taken_at, timedelta(seconds=LEASE))
    assert eventually(lambda: not status.holds_lease, WAIT)  # it noticed, and logged out
    assert eventually(lambda: not status.connected, WAIT)
    waits = status.lease_waits
    for n in range(3):
        dovecot.append(imap_user, mail(n))
    assert eventually(lambda: status.lease_waits >= waits + 3, WAIT)
    assert stored(survivor) == {}  # the dead instance's lease still runs: nobody reads
    assert len(dovecot.message_ids(imap_user)) == 3

    clock.advance(timedelta(seconds=11 * LEASE))  # the dead instance's lease runs out
    assert eventually(lambda: status.holds_lease, WAIT)
    assert eventually(lambda: stored(survivor) == wanted(range(3)), WAIT)
    assert eventually(lambda: dovecot.message_ids(imap_user) == [], WAIT)
    with survivor.runtime.engine.connect() as db:
        lease = current_lease(db, key)
    assert lease is not None and lease.holder == poller(survivor).holder
