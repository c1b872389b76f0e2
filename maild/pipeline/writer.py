"""The single writer with group commit (DESIGN.md, "The hot path").

One thread owns every intake write. Jobs that arrive while a transaction is running wait in
a queue; the next transaction takes all of them (up to ``max_batch``), runs each in its own
SAVEPOINT, and commits once. SQLite allows one writer anyway; group commit turns that limit
into throughput, since one fsync then covers a whole group. Every job's future resolves only
after the commit, so a source that waits on it acknowledges only committed mail.

Several instances on one PostgreSQL: a group that loses to another instance's transaction
(a deadlock, a serialization failure) is run again, up to ``COMMIT_ATTEMPTS`` times in all;
only then do its senders get a temporary failure. When the database is unreachable the
group fails at once (``451``), and the first commit after that says in the log that the
database is back.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from maild.logs import log_context
from maild.pipeline.delivery import DeliveryResult, Job
from maild.pipeline.driver import Pipeline
from maild.pipeline.errors import TemporaryFailure
from storage.engine import conflict_reason

log = logging.getLogger(__name__)

# Errors that say "the database cannot be written now", not "this message is bad".
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
# A group that lost to a concurrent transaction is run this many times in all, with a short
# pause (RETRY_PAUSE seconds times the attempt, give or take half) between the attempts.
COMMIT_ATTEMPTS = 4
RETRY_PAUSE = 0.05


@dataclass(slots=True)
class _Pending:
    job: Job
    future: Future[DeliveryResult]


class _Stop:
    pass


class WriterStopped(TemporaryFailure):
    """The writer is shutting down and takes no new work."""


class GroupCommitWriter:
    def __init__(
        self,
        engine: Engine,
        pipeline: Pipeline,
        *,
        max_batch: int = 200,
        on_commit: Callable[[list[DeliveryResult]], None] | None = None,
        commit_attempts: int = COMMIT_ATTEMPTS,
    ) -> None:
        if commit_attempts < 1:
            raise ValueError("commit_attempts must be at least 1")
        self._engine = engine
        self._pipeline = pipeline
        self._max_batch = max_batch
        self._on_commit = on_commit
        self._commit_attempts = commit_attempts
        # Since when (monotonic) and for how many messages the database has been failing:
        # the next commit logs that it is back.
        self._failing_since: float | None = None
        self._deferred = 0
        self._queue: queue.SimpleQueue[_Pending | _Stop] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="maild-writer", daemon=True)
        self._accepting = False
        self._lock = threading.Lock()
        self.batches = 0
        self.retries = 0  # groups run again after losing to a concurrent transaction

    def start(self) -> None:
        self._accepting = True
        self._thread.start()

    def submit(self, job: Job) -> Future[DeliveryResult]:
        future: Future[DeliveryResult] = Future()
        with self._lock:
            if not self._accepting:
                future.set_exception(WriterStopped("maild is shutting down"))
                return future
            self._queue.put(_Pending(job, future))
        return future

    @property
    def alive(self) -> bool:
        """Whether the writer's thread runs (what ``/healthz`` reports)."""
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Take no new jobs, store every job already queued, then end the thread."""
        with self._lock:
            if not self._accepting:
                return
            self._accepting = False
            self._queue.put(_Stop())
        self._thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if isinstance(first, _Stop):
                break
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        results: list[DeliveryResult] = []
        attempt = 1
        while True:
            try:
                with self._engine.begin() as connection:
                    results = [self._store_one(connection, pending.job) for pending in batch]
            except DATABASE_UNAVAILABLE as error:
                conflict = conflict_reason(error)
                if conflict is not None and attempt < self._commit_attempts:
                    log.info(
                        "intake transaction lost to a concurrent one (%s); running its %d "
                        "message(s) again (attempt %d of %d)",
                        conflict,
                        len(batch),
                        attempt + 1,
                        self._commit_attempts,
                    )
                    self.retries += 1
                    time.sleep(RETRY_PAUSE * attempt * random.uniform(0.5, 1.5))
                    attempt += 1
                    continue
                self._defer(batch, error, conflict)
                return
            except BaseException as error:  # a bug in the writer itself: fail safe, keep running
                log.exception("intake transaction failed; %d message(s) deferred", len(batch))
                for pending in batch:
                    _settle(pending.future, error=TemporaryFailure(str(error)))
                return
            break
        if self._failing_since is not None:
            log.info(
                "database available again: storing mail after %.1f s in which %d message(s) "
                "were deferred",
                time.monotonic() - self._failing_since,
                self._deferred,
            )
            self._failing_since, self._deferred = None, 0
        self.batches += 1
        for pending, result in zip(batch, results, strict=True):
            _settle(pending.future, result)
        if self._on_commit is not None:
            try:
                self._on_commit(results)
            except Exception:
                log.exception("post-commit hook failed")

    def _defer(self, batch: list[_Pending], error: Exception, conflict: str | None) -> None:
        """Give every sender of ``batch`` a temporary failure: they deliver again later."""
        if conflict is not None:
            what = f"database busy ({conflict} on each of {self._commit_attempts} attempts)"
        else:
            what = "database unavailable"
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            self._deferred += len(batch)
        log.warning("%s, %d message(s) deferred: %s", what, len(batch), _first_line(error))
        failure = TemporaryFailure(f"{what}: {_first_line(error)}")
        for pending in batch:
            _settle(pending.future, error=failure)

    def _store_one(self, connection: Connection, job: Job) -> DeliveryResult:
        """Store one job in its own SAVEPOINT; a bad message is quarantined, not fatal.
        Every line logged meanwhile names its Message-ID and source."""
        with log_context(message_id=job.parsed.message_id, source=job.delivery.origin):
            return self._store_or_quarantine(connection, job)

    def _store_or_quarantine(self, connection: Connection, job: Job) -> DeliveryResult:
        failure: Exception
        for attempt in (1, 2):
            try:
                with connection.begin_nested():
                    return self._pipeline.process(connection, job)
            except DATABASE_UNAVAILABLE:
                raise
            except sa_exc.IntegrityError as error:
                # Another writer stored the same message or ticket number first (several
                # instances on one PostgreSQL). Run it once more: dedup now sees their row.
                failure = error
                if attempt == 1:
                    continue
            except Exception as error:
                failure = error
            break
        with connection.begin_nested():
            return self._pipeline.quarantine(connection, job, failure)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.splitlines()[0] if text else type(error).__name__


def _settle(
    future: Future[DeliveryResult],
    result: DeliveryResult | None = None,
    *,
    error: BaseException | None = None,
) -> None:
    """Give the source its answer, unless it stopped waiting: a client that hangs up after
    DATA cancels its future (the message is stored all the same; its sender retries and
    the retry is a duplicate). Setting a cancelled future raises, and must not end the
    writer's thread, or every later message would get 451."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
    except InvalidStateError:
        pass
