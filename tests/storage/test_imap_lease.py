"""storage.imap_lease: one holder at a time per IMAP folder, taken over once it expires."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Engine

from storage.engine import writer_engine
from storage.imap_lease import current_lease, release_lease, take_lease
from storage.imap_state import FolderKey
from tests.storage.conftest import AT

KEY = FolderKey("support", "imap.example.com:993", "support@example.com", "INBOX")
LEASE = timedelta(minutes=2)


def take(engine: Engine, holder: str, at: object = AT) -> bool:
    with writer_engine(engine).begin() as db:
        return take_lease(db, KEY, holder, at, LEASE)  # type: ignore[arg-type]


def test_a_running_lease_is_renewed_by_its_holder_and_refused_to_others(engine: Engine) -> None:
    assert take(engine, "mx1")
    assert not take(engine, "mx2", AT + timedelta(minutes=1))
    assert take(engine, "mx1", AT + timedelta(minutes=1))  # renewed: now until 09:03
    assert not take(engine, "mx2", AT + timedelta(minutes=2, seconds=59))
    with engine.connect() as db:
        lease = current_lease(db, KEY)
    assert lease is not None
    assert (lease.holder, lease.acquired_at, lease.expires_at) == (
        "mx1",
        AT,
        AT + timedelta(minutes=3),
    )


def test_an_expired_lease_is_taken_over(engine: Engine) -> None:
    assert take(engine, "mx1")
    assert take(engine, "mx2", AT + LEASE)
    assert not take(engine, "mx1", AT + LEASE)  # the old holder lost it
    with engine.connect() as db:
        lease = current_lease(db, KEY)
    assert lease is not None and (lease.holder, lease.acquired_at) == ("mx2", AT + LEASE)


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(engine: Engine) -> None:
    assert take(engine, "mx1")
    with writer_engine(engine).begin() as db:
        assert not release_lease(db, KEY, "mx2", AT)
        assert release_lease(db, KEY, "mx1", AT + timedelta(seconds=5))
    assert take(engine, "mx2", AT + timedelta(seconds=5))


def test_two_instances_racing_for_a_free_lease_get_one_holder(engine: Engine) -> None:
    for round_ in range(5):
        at = AT + round_ * 2 * LEASE  # the last holder's lease has run out
        start = threading.Barrier(2)
        won: dict[str, bool] = {}

        def race(holder: str, at=at, start=start, won=won) -> None:
            start.wait()
            won[holder] = take(engine, holder, at)

        threads = [threading.Thread(target=race, args=(f"mx{n}-{round_}",)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert sorted(won.values()) == [False, True], won
