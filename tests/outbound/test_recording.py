"""``write_until_done``: a write the database refuses for now is tried again, waiting a
little longer each time; a bug is raised at once."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import OperationalError

from outbound.recording import MAX_WAIT, write_until_done


def locked() -> OperationalError:
    return OperationalError("UPDATE outbox", {}, sqlite3.OperationalError("database is locked"))


def test_a_locked_database_is_waited_out_with_growing_pauses() -> None:
    failures_left = [12]
    waits: list[float] = []

    def write() -> None:
        if failures_left[0]:
            failures_left[0] -= 1
            raise locked()

    failed = write_until_done(
        write, what="outbox #1 sent", stopping=lambda: False, sleep=waits.append
    )
    assert failed == 12
    assert waits[:4] == [0.05, 0.1, 0.2, 0.4]
    assert max(waits) == MAX_WAIT
    assert waits == sorted(waits)


def test_an_error_that_is_not_the_database_s_is_raised_at_once() -> None:
    calls = []

    def write() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        write_until_done(write, what="outbox #1 sent", stopping=lambda: False, sleep=calls.append)
    assert calls == [1]
