"""A send is recorded even when the database refuses writes for a while: the outbox tries
the write again until it succeeds, so a message the relay accepted is never sent twice
(before, one failed write left the whole flush claimed, and every message of it went out
again when the lease ran out)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from outbound.outbox import OutboxWorker
from outbound.transport import SmtpRelayTransport
from storage.engine import DatabaseSettings, create_database_engine, session_factory
from storage.models import Base, OutboxStatus
from tests.outbound.conftest import ManualClock
from tests.outbound.test_outbox import queue, row
from tests.support import Sink


class OtherProcess:
    """A second connection to the SQLite file that takes the write lock and holds it."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        self.holding = False

    def lock(self) -> None:
        self._connection.execute("BEGIN IMMEDIATE")
        self.holding = True

    def release(self) -> None:
        if self.holding:
            self._connection.execute("COMMIT")
            self.holding = False

    def close(self) -> None:
        self.release()
        self._connection.close()


class ReleaseAfterFailures(logging.Handler):
    """Lets the other process go once the outbox has failed to record ``failures`` times."""

    def __init__(self, other: OtherProcess, failures: int) -> None:
        super().__init__(logging.WARNING)
        self.other = other
        self.failures = failures
        self.seen = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed" in record.getMessage() and "recording" in record.getMessage():
            self.seen += 1
            if self.seen >= self.failures:
                self.other.release()


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[tuple[sessionmaker[Session], OtherProcess]]:
    path = tmp_path / "outbox.db"
    # A busy timeout far shorter than the other process holds the lock.
    engine = create_database_engine(DatabaseSettings(url=f"sqlite:///{path}", busy_timeout=0.1))
    Base.metadata.create_all(engine)
    other = OtherProcess(path)
    yield session_factory(engine), other
    other.close()
    engine.dispose()


def test_a_send_recorded_while_another_process_holds_the_lock_goes_out_once(
    locked_db: tuple[sessionmaker[Session], OtherProcess], sink: Sink, now: ManualClock
) -> None:
    sessions, other = locked_db
    ids = queue(sessions, now, count=3)
    relay = SmtpRelayTransport("127.0.0.1", sink.port, timeout=5.0)

    class LockAfterFirstSend:
        """The relay accepts; then another process takes the write lock for a while."""

        def send(self, mail_from: str, recipients: Sequence[str], raw: bytes) -> None:
            relay.send(mail_from, recipients, raw)
            if len(sink.received) == 1:
                other.lock()

        def close(self) -> None:
            relay.close()

    handler = ReleaseAfterFailures(other, failures=3)
    outbox_log = logging.getLogger("outbound.recording")
    outbox_log.addHandler(handler)
    try:
        worker = OutboxWorker(sessions, LockAfterFirstSend(), now, lease=timedelta(minutes=5))
        report = worker.flush()
    finally:
        outbox_log.removeHandler(handler)

    assert handler.seen >= 3  # the write of the first send really failed, three times
    assert report.sent == 3
    assert [row(sessions, i).status for i in ids] == [OutboxStatus.SENT] * 3
    # Long after the lease: nothing is claimed any more, nothing goes out again.
    now.advance(timedelta(hours=1))
    assert worker.flush().sent == 0
    assert len(sink.received) == 3
    assert len({message.raw for message in sink.received}) == 3
