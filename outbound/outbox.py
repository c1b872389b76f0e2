"""The outbox: outgoing mail written in the transaction that caused it, sent later.

``enqueue_each`` (over ``storage.outbox.enqueue``) adds a fully composed message to the
caller's session and commits nothing: the row commits or rolls back with the ticket change
that caused it (invariant 4). The ``OutboxWorker`` sends what is due, retries with backoff
and parks a message as ``dead`` when it gives up, where ``maild outbox`` shows it.

Delivery is at least once. A row is claimed in a short transaction (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several instances share the work) by pushing its
``next_attempt_at`` a lease ahead; sending happens outside any transaction; the outcome is
written in a second short transaction. A worker that dies in between leaves the row to be
sent again once the lease runs out; a write of an outcome that fails is retried until it
succeeds, so nothing else sends a message twice.

Retries follow an MTA's queue (``RetryPolicy``): a relay down for an afternoon delays mail,
it does not lose it. A message is parked as ``dead`` when the relay refuses it for good
(``5xx``) or when it is still undelivered ``max_lifetime`` after it was queued.

Imports ``storage`` only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from outbound.compose import new_verp_id, verp_address
from outbound.recording import write_until_done
from outbound.transport import (
    PermanentSendError,
    RelayUnavailableError,
    TransientSendError,
    Transport,
)
from storage import outbox as rows
from storage.engine import WRITE_OPTION
from storage.models import OutboxStatus
from storage.outbox import Claimed

__all__ = [
    "DeadMail",
    "DeadMailListener",
    "FlushReport",
    "OutboxWorker",
    "RetryPolicy",
    "default_backoff",
    "enqueue_each",
]

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 2000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again after a failed attempt, and when to give up, as an MTA's queue
    does (Postfix's ``maximal_backoff_time`` and ``maximal_queue_lifetime``): waits double
    from one minute up to ``max_backoff``, and a message still undelivered ``max_lifetime``
    after it was queued is given up on. Webhook deliveries (``outbound.webhooks``) take the
    outbox's on purpose, so that a change here changes both."""

    max_lifetime: timedelta = timedelta(days=5)
    max_backoff: timedelta = timedelta(hours=1)
    first_backoff: timedelta = timedelta(minutes=1)

    def __post_init__(self) -> None:
        if self.max_lifetime <= timedelta(0) or self.max_backoff <= timedelta(0):
            raise ValueError("max_lifetime and max_backoff must be positive")
        if self.first_backoff < timedelta(0):
            raise ValueError("first_backoff must not be negative")

    def backoff(self, attempt: int) -> timedelta:
        """The wait after failed attempt ``attempt`` (1-based)."""
        return min(self.first_backoff * 2 ** max(0, min(attempt - 1, 30)), self.max_backoff)

    def next_attempt(self, attempts: int, since: datetime, now: datetime) -> datetime | None:
        """After failed attempt number ``attempts`` (1-based) of a series that began at
        ``since``: when to try again, or None to give up (park the row as dead). The last
        attempt is made when the lifetime ends, not a backoff after it."""
        give_up_at = since + self.max_lifetime
        if now >= give_up_at:
            return None
        return min(now + self.backoff(attempts), give_up_at)


def default_backoff(attempt: int) -> timedelta:
    """Wait after failed attempt ``attempt`` (1-based) with the default policy: 1 min, 2,
    4, … at most an hour."""
    return RetryPolicy().backoff(attempt)


@dataclass(frozen=True, slots=True)
class DeadMail:
    """A message just parked as dead, as the admins' notice about it shows it."""

    id: int
    ticket_number: int | None
    kind: str
    message_id: str
    recipients: tuple[str, ...]
    error: str
    attempts: int
    since: datetime  # queued, or retried by hand


DeadMailListener = Callable[[Connection, Sequence[DeadMail], datetime], None]
"""Called in the transaction that parks messages as dead (to queue the admins' notice)."""


def enqueue_each(
    executor: Connection | Session,
    *,
    ticket_id: int | None,
    kind: str,
    message_id: str,
    mailbox: str,
    token: str,
    recipients: Sequence[str],
    raw: bytes,
    now: datetime,
    automatic: bool = True,
) -> list[int]:
    """One pending row per recipient, each sent from its own envelope sender
    ``mailbox+TOKEN-RID@…`` (VERP per recipient): a bounce then names the one copy that
    failed, and nobody can make us mark an address bouncing by forging a report about
    mail that went to someone else (invariant 6). The same bytes go to each."""
    if not recipients:
        raise ValueError("an outbox message needs at least one recipient")
    ids = []
    for recipient in dict.fromkeys(recipients):
        verp_id = new_verp_id()
        ids.append(
            rows.enqueue(
                executor,
                ticket_id=ticket_id,
                kind=kind,
                message_id=message_id,
                mail_from=verp_address(mailbox, token, verp_id),
                recipients=[recipient],
                raw=raw,
                now=now,
                automatic=automatic,
                verp_id=verp_id,
            )
        )
    return ids


@dataclass(frozen=True, slots=True)
class FlushReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class _Outcome:
    item: Claimed
    result: str  # sent, retried, dead, released
    values: dict[str, Any] = field(default_factory=dict)
    relay_down: bool = False  # no point trying the rest of the batch now


class OutboxWorker:
    """Sends due outbox rows through ``transport``; call ``flush()`` from a scheduler.

    ``flush`` claims up to ``batch_size`` due rows at a time and goes on until nothing is
    due, at most ``max_rounds`` batches per call. A batch is cut short, and its unsent rows
    handed back untouched, when half the lease has passed (another worker may send them
    meanwhile), or when the relay is unavailable (the next flush tries again).

    Each outcome is written as soon as the relay answered, and writing it is retried until
    it succeeds (a database locked by another process for a while, a PostgreSQL restart);
    the same write renews the lease of the next row, so a row is sent with a whole lease
    ahead of it. Only a worker that dies between the relay's ``250`` and that write, or a
    single send slower than the whole lease, can make a message go out twice. ``on_dead``
    is called in the transaction that parks messages as dead.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        transport: Transport,
        now: Callable[[], datetime],
        *,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 50,
        max_rounds: int = 20,
        on_dead: DeadMailListener | None = None,
    ) -> None:
        if batch_size < 1 or max_rounds < 1:
            raise ValueError("batch_size and max_rounds must be at least 1")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        self._sessions = session_factory
        self._transport = transport
        self._now = now
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self._batch_size = batch_size
        self._max_rounds = max_rounds
        self._on_dead = on_dead
        self._stopping = threading.Event()

    def recover(self) -> None:
        """At start: clean up after a process that was killed while sending (the files a
        ``DirectoryTransport`` had half written)."""
        remove = getattr(self._transport, "remove_partial_files", None)
        if callable(remove):
            remove()

    def stop(self) -> None:
        """Stop retrying writes that fail soon (``outbound.recording.STOP_GRACE``): the
        daemon is shutting down, and a database that does not come back must not hold it."""
        self._stopping.set()

    def flush(self) -> FlushReport:
        counts = {"sent": 0, "retried": 0, "dead": 0, "released": 0}
        try:
            for _ in range(self._max_rounds):
                try:
                    batch, claimed_at = self._claim()
                except (OperationalError, InterfaceError) as exc:
                    # Nothing was claimed, so nothing is lost: the next flush tries again.
                    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                    log.warning("outbox: cannot claim mail now (%s); trying again later", reason)
                    break
                if not batch:
                    break
                relay_down = self._deliver(batch, claimed_at, counts)
                if relay_down:
                    break
        finally:
            close = getattr(self._transport, "close", None)
            if callable(close):
                close()
        return FlushReport(sent=counts["sent"], retried=counts["retried"], dead=counts["dead"])

    def _write_connection(self, session: Session) -> Connection:
        # On SQLite, take the write lock at BEGIN (storage.engine): a read transaction that
        # later writes can fail at once when the intake writer committed in between.
        return session.connection(execution_options={WRITE_OPTION: True})

    def _claim(self) -> tuple[list[Claimed], datetime]:
        # Most flushes (every commit wakes one) find nothing due: they learn it with a
        # read, without queueing for SQLite's write lock.
        with self._sessions() as session:
            if not rows.any_due(session.connection(), self._now()):
                return [], self._now()
        with self._sessions() as session, session.begin():
            connection = self._write_connection(session)
            now = self._now()
            return rows.claim(connection, now, self.lease, self._batch_size), now

    def _deliver(self, batch: list[Claimed], claimed_at: datetime, counts: dict[str, int]) -> bool:
        """Send each claimed row and record its outcome at once; whether the relay is down.

        The write that records a row also renews the lease of the next one, so every row is
        sent with a whole lease ahead of it, not with what the rows before it left over: a
        send that starts just before the hand-back point and is slow cannot outlive the
        lease while another worker takes the row and sends it too.
        """
        deadline = claimed_at + self.lease / 2
        unwritten: list[_Outcome] = []  # the previous row's outcome
        for index, item in enumerate(batch):
            if self._now() >= deadline:
                log.warning("outbox: lease half over; handing %d rows back", len(batch) - index)
                released = [self._released(rest, claimed_at) for rest in batch[index:]]
                self._record(unwritten + released, counts)
                return False
            if index and not self._record(unwritten, counts, renew=item):
                unwritten = []
                log.warning(
                    "outbox #%d (ticket #%s): its lease ran out before its turn; "
                    "left to the worker that took it",
                    item.id,
                    item.ticket_number,
                    extra={"ticket": item.ticket_number},
                )
                continue
            unwritten = [self._attempt(item)]
            if unwritten[0].relay_down:
                released = [self._released(rest, claimed_at) for rest in batch[index + 1 :]]
                self._record(unwritten + released, counts)
                return True
        self._record(unwritten, counts)
        return False

    def _attempt(self, item: Claimed) -> _Outcome:
        """Hand ``item`` to the transport; what came of it, to be written."""
        try:
            self._transport.send(item.mail_from, item.recipients, item.raw)
        except PermanentSendError as exc:
            return self._dead(item, str(exc))
        except TransientSendError as exc:
            outcome = self._retry(item, exc, exc.recipients)
            if isinstance(exc, RelayUnavailableError):
                return replace(outcome, relay_down=True)
            return outcome
        except Exception as exc:  # a transport bug must not stop the outbox
            log.exception(
                "outbox #%d (ticket #%s): unexpected send failure",
                item.id,
                item.ticket_number,
                extra={"ticket": item.ticket_number},
            )
            return self._retry(item, exc, None)
        return self._sent(item)

    def _sent(self, item: Claimed) -> _Outcome:
        log.info(
            "outbox #%d (ticket #%s, %s %s) sent to %s",
            item.id,
            item.ticket_number,
            item.kind,
            item.message_id,
            ", ".join(item.recipients),
            extra={"ticket": item.ticket_number},
        )
        return _Outcome(item, "sent", {"status": OutboxStatus.SENT, "sent_at": self._now()})

    def _dead(
        self, item: Claimed, error: str, recipients: tuple[str, ...] | None = None
    ) -> _Outcome:
        log.error(
            "outbox #%d (ticket #%s, %s %s) is dead after %d attempt(s) since %s: %s",
            item.id,
            item.ticket_number,
            item.kind,
            item.message_id,
            item.attempts,
            item.since.isoformat(timespec="seconds"),
            error,
            extra={"ticket": item.ticket_number},
        )
        values: dict[str, Any] = {
            "status": OutboxStatus.DEAD,
            "last_error": error[:_MAX_ERROR_CHARS],
        }
        if recipients:  # after a partial delivery: those who did not get it
            values["recipients"] = list(recipients)
        return _Outcome(item, "dead", values)

    def _retry(self, item: Claimed, exc: Exception, recipients: tuple[str, ...] | None) -> _Outcome:
        error = str(exc) or type(exc).__name__
        next_attempt_at = self.retry.next_attempt(item.attempts, item.since, self._now())
        if next_attempt_at is None:
            return self._dead(item, error, recipients)
        log.warning(
            "outbox #%d (ticket #%s, %s %s) attempt %d failed, next at %s: %s",
            item.id,
            item.ticket_number,
            item.kind,
            item.message_id,
            item.attempts,
            next_attempt_at.isoformat(),
            error,
            extra={"ticket": item.ticket_number},
        )
        values: dict[str, Any] = {
            "next_attempt_at": next_attempt_at,
            "last_error": error[:_MAX_ERROR_CHARS],
        }
        if recipients:  # a partial delivery: only these are still to be tried
            values["recipients"] = list(recipients)
        return _Outcome(item, "retried", values)

    def _released(self, item: Claimed, claimed_at: datetime) -> _Outcome:
        # Not attempted: undo the claim so the attempt is not counted.
        return _Outcome(
            item, "released", {"attempts": item.attempts - 1, "next_attempt_at": claimed_at}
        )

    def _record(
        self, outcomes: list[_Outcome], counts: dict[str, int], renew: Claimed | None = None
    ) -> bool:
        """Write ``outcomes`` (and renew the lease of ``renew``), trying again until the
        database takes them; whether ``renew`` is still ours."""
        if outcomes:
            what, ticket = _describe(outcomes), outcomes[0].item.ticket_number
        elif renew is not None:
            what, ticket = f"the lease of outbox #{renew.id}", renew.ticket_number
        else:
            return True
        owned = [True]

        def write() -> None:
            owned[0] = self._write(outcomes, renew)

        write_until_done(write, what=what, stopping=self._stopping.is_set, ticket=ticket)
        for outcome in outcomes:
            counts[outcome.result] += 1
        return owned[0]

    def _write(self, outcomes: list[_Outcome], renew: Claimed | None = None) -> bool:
        with self._sessions() as session, session.begin():
            connection = self._write_connection(session)
            dead: list[DeadMail] = []
            for outcome in outcomes:
                # Only while the row is still ours; a message the relay took is recorded
                # regardless.
                guarded = outcome.result != "sent"
                written = rows.finish(connection, outcome.item, outcome.values, guarded=guarded)
                if outcome.result == "dead" and written:
                    dead.append(_dead_mail(outcome))
            if dead and self._on_dead is not None:
                self._tell_dead(session, dead)
            if renew is None:
                return True
            return rows.renew(connection, renew, self._now() + self.lease)

    def _tell_dead(self, session: Session, dead: list[DeadMail]) -> None:
        """Run ``on_dead`` in a savepoint: a notice that fails must not keep the outcomes
        from being recorded (the messages would be tried again after the lease)."""
        try:
            with session.begin_nested():
                assert self._on_dead is not None
                self._on_dead(session.connection(), dead, self._now())
        except (OperationalError, InterfaceError):
            raise  # the database itself: the whole write is tried again
        except Exception:
            log.exception(
                "outbox: could not queue the notice of dead mail %s",
                ", ".join(f"#{mail.id}" for mail in dead),
            )


def _dead_mail(outcome: _Outcome) -> DeadMail:
    item = outcome.item
    return DeadMail(
        id=item.id,
        ticket_number=item.ticket_number,
        kind=item.kind,
        message_id=item.message_id,
        recipients=tuple(outcome.values.get("recipients") or item.recipients),
        error=str(outcome.values.get("last_error", "")),
        attempts=item.attempts,
        since=item.since,
    )


def _describe(outcomes: list[_Outcome]) -> str:
    first = outcomes[0]
    more = f" and {len(outcomes) - 1} more" if len(outcomes) > 1 else ""
    return f"outbox #{first.item.id} {first.result}{more}"
