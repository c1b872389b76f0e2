"""The group-commit writer with another instance on the database: a group that loses a
deadlock is run again and stored once; one that keeps losing, or meets a database that
does not answer, gets a temporary failure (never a permanent one), and the log says when
the database is back."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy import exc as sa_exc

from maild.config import Config
from maild.pipeline.context import IntakeContext
from maild.pipeline.delivery import Outcome
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.writer import COMMIT_ATTEMPTS
from storage.models import Message
from tests.conftest import POSTGRES_URL, make_config
from tests.support import eventually
from tests.test_writer import build, delivery

WAIT = 30.0


class Failing:
    """A step that fails with the database error ``error`` while ``armed``."""

    name = "failing"

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.armed = True
        self.calls = 0

    def __call__(self, context: IntakeContext) -> None:
        if self.armed:
            self.calls += 1
            raise self.error


def deadlock() -> sa_exc.OperationalError:
    return sa_exc.OperationalError(
        "UPDATE counters …", {}, psycopg.errors.DeadlockDetected("deadlock detected")
    )


def stored(writer) -> int:
    with writer._engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Message)).scalar_one()


def test_a_group_that_keeps_losing_gets_a_temporary_failure_then_the_next_is_stored(
    config: Config,
) -> None:
    step = Failing(deadlock())
    with build(config, step) as (intake, writer):
        future = intake.submit(delivery("first", 1))
        with pytest.raises(TemporaryFailure, match="deadlock"):
            future.result(WAIT)
        assert step.calls == COMMIT_ATTEMPTS
        assert writer.retries == COMMIT_ATTEMPTS - 1
        assert stored(writer) == 0

        step.armed = False
        [result] = intake.submit(delivery("second", 2)).result(WAIT)
        assert result.outcome is Outcome.NEW_TICKET
        assert stored(writer) == 1


def test_a_database_that_does_not_answer_fails_at_once_and_the_log_says_when_it_is_back(
    config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    refused = sa_exc.OperationalError("connect", {}, psycopg.OperationalError("connection refused"))
    step = Failing(refused)
    caplog.set_level(logging.INFO, logger="maild.pipeline.writer")
    with build(config, step) as (intake, writer):
        for n in range(2):
            with pytest.raises(TemporaryFailure, match="database unavailable"):
                intake.submit(delivery(f"down {n}", n)).result(WAIT)
        assert (step.calls, writer.retries) == (2, 0)  # not a conflict: no second attempt
        assert "database available again" not in caplog.text

        step.armed = False
        [result] = intake.submit(delivery("back", 3)).result(WAIT)
        assert result.outcome is Outcome.NEW_TICKET
    [back] = [r.getMessage() for r in caplog.records if "available again" in r.getMessage()]
    assert "2 message(s) were deferred" in back


def lock_waits(engine) -> int:
    """Transactions of this database waiting for a lock."""
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


class Deadlocker:
    """The first time it runs, locks cursor row "a", lets the other transaction (which
    holds row "b") know, then asks for row "b": a real deadlock, which PostgreSQL breaks by
    aborting this transaction (it has waited longer)."""

    name = "deadlocker"

    def __init__(self) -> None:
        self.holding_a = threading.Event()
        self.other_holds_b = threading.Event()
        self.runs = 0

    def __call__(self, context: IntakeContext) -> None:
        self.runs += 1
        if self.runs > 1:
            return
        connection = context.connection
        connection.execute(text("UPDATE assignment_cursors SET position = 1 WHERE team = 'a'"))
        self.holding_a.set()
        assert self.other_holds_b.wait(WAIT)
        connection.execute(text("UPDATE assignment_cursors SET position = 1 WHERE team = 'b'"))


@pytest.mark.skipif(not POSTGRES_URL, reason="PostgreSQL: set MAILD_TEST_DATABASE_URL")
def test_a_group_that_loses_a_real_deadlock_is_run_again_and_stored_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.conftest import _reset_postgres

    _reset_postgres(POSTGRES_URL)
    # The lock wait must outlast PostgreSQL's deadlock_timeout (1 s) for the deadlock to be
    # found rather than the wait given up.
    config = make_config(
        tmp_path,
        POSTGRES_URL,
        database={"busy_timeout": 10.0},
        limits={"new_tickets_per_sender_per_hour": 0},
    )
    step = Deadlocker()
    caplog.set_level(logging.INFO, logger="maild.pipeline.writer")
    with build(config, step) as (intake, writer):
        other = create_engine(POSTGRES_URL)
        with other.begin() as connection:
            connection.execute(
                text("INSERT INTO assignment_cursors (team, position) VALUES ('a', 0), ('b', 0)")
            )

        def other_instance() -> None:
            with other.begin() as connection:
                connection.execute(
                    text("UPDATE assignment_cursors SET position = 2 WHERE team = 'b'")
                )
                step.other_holds_b.set()
                assert step.holding_a.wait(WAIT)
                # The writer waits for "b" first, so its deadlock check runs first.
                assert eventually(lambda: lock_waits(other) == 1, WAIT)
                connection.execute(
                    text("UPDATE assignment_cursors SET position = 2 WHERE team = 'a'")
                )

        thread = threading.Thread(target=other_instance)
        future = intake.submit(delivery("first", 1))
        thread.start()
        [result] = future.result(WAIT)
        thread.join(WAIT)
        other.dispose()
        assert result.outcome is Outcome.NEW_TICKET
        assert (step.runs, writer.retries) == (2, 1)
        assert stored(writer) == 1
    assert "lost to a concurrent one (deadlock)" in caplog.text
