"""The outbox: outgoing mail written in the transaction that caused it, sent later.

``enqueue`` adds a fully composed message to the caller's session and commits nothing: the
row commits or rolls back with the ticket change that caused it (invariant 4). The
``OutboxWorker`` sends what is due, retries with backoff and parks a message as ``dead``
after the last attempt, where ``maild outbox`` shows it.

Delivery is at least once. A row is claimed in a short transaction (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so several instances share the work) by pushing its
``next_attempt_at`` a lease ahead; sending happens outside any transaction; the outcome is
written in a second short transaction. A worker that dies in between leaves the row to be
sent again once the lease runs out.

Imports ``storage`` only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, selectinload, sessionmaker

from outbound.compose import new_verp_id, verp_address
from outbound.transport import (
    PermanentSendError,
    RelayUnavailableError,
    TransientSendError,
    Transport,
)
from storage.engine import WRITE_OPTION
from storage.models import OutboxMessage, OutboxStatus, Ticket

__all__ = [
    "FlushReport",
    "OutboxWorker",
    "RetryPolicy",
    "automatic_sent_since",
    "automatic_sent_to_domain_since",
    "default_backoff",
    "enqueue",
    "enqueue_each",
    "normalised_address",
    "outbox_rows",
]

log = logging.getLogger(__name__)

_MAX_ERROR_CHARS = 2000


def default_backoff(attempt: int) -> timedelta:
    """Wait after failed attempt ``attempt`` (1-based): 1 min, 2, 4, … at most 6 h."""
    return min(timedelta(minutes=1) * 2 ** max(0, min(attempt - 1, 16)), timedelta(hours=6))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try again after a failed attempt, and when to give up: the outbox's, and
    the webhooks' (``outbound.webhooks``) which take the outbox's on purpose, so that a
    change here changes both."""

    max_attempts: int = 8
    backoff: Callable[[int], timedelta] = default_backoff

    def next_attempt(self, attempts: int, since: datetime, now: datetime) -> datetime | None:
        """After failed attempt number ``attempts`` (1-based) of a series that began at
        ``since``: when to try again, or None to give up (park the row as dead)."""
        if attempts >= self.max_attempts:
            return None
        return now + self.backoff(attempts)


_INSERT = insert(OutboxMessage.__table__).returning(OutboxMessage.__table__.c.id)
# The ticket's number for the log (ids mean nothing to an operator); a subquery, not a join,
# so FOR UPDATE locks outbox rows only.
_TICKET_NUMBER = (
    select(Ticket.number)
    .where(Ticket.id == OutboxMessage.ticket_id)
    .scalar_subquery()
    .label("ticket_number")
)


def normalised_address(address: str) -> str:
    """The address as the limits on automatic mail count it: lower case, without the
    sub-address (``Victim+7@Target.example`` counts as ``victim@target.example``)."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.partition('+')[0]}@{domain}"


def enqueue(
    executor: Connection | Session,
    *,
    ticket_id: int | None,
    kind: str,
    message_id: str,
    mail_from: str,
    recipients: Sequence[str],
    raw: bytes,
    now: datetime,
    automatic: bool = True,
    verp_id: str | None = None,
) -> int:
    """Insert a pending outbox row, due at ``now``, in the caller's transaction; its id.

    A single Core INSERT rather than an ORM object: this runs on the intake hot path.
    Ticket mail goes through :func:`enqueue_each`, which gives each recipient a row and an
    envelope sender of its own.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime given as now")
    if not recipients:
        raise ValueError("an outbox message needs at least one recipient")
    values = {
        "ticket_id": ticket_id,
        "kind": kind,
        "automatic": automatic,
        "message_id": message_id,
        "mail_from": mail_from,
        "recipients": list(recipients),
        "primary_recipient": normalised_address(recipients[0]),
        "recipient_domain": recipients[0].strip().lower().rpartition("@")[2],
        "verp_id": verp_id,
        "raw": raw,
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    return executor.execute(_INSERT, values).scalar_one()


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
            enqueue(
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


_RECENT_AUTOMATIC = (
    select(func.count())
    .select_from(OutboxMessage.__table__)
    .where(
        OutboxMessage.__table__.c.primary_recipient == bindparam("address"),
        OutboxMessage.__table__.c.automatic.is_(True),
        OutboxMessage.__table__.c.created_at > bindparam("since"),
        OutboxMessage.__table__.c.kind.in_(bindparam("kinds", expanding=True)),
    )
)


_RECENT_AUTOMATIC_TO_DOMAIN = (
    select(func.count())
    .select_from(OutboxMessage.__table__)
    .where(
        OutboxMessage.__table__.c.recipient_domain == bindparam("domain"),
        OutboxMessage.__table__.c.automatic.is_(True),
        OutboxMessage.__table__.c.created_at > bindparam("since"),
        OutboxMessage.__table__.c.kind.in_(bindparam("kinds", expanding=True)),
    )
)


def automatic_sent_since(
    executor: Connection | Session, address: str, since: datetime, kinds: Sequence[str]
) -> int:
    """How many automatic messages of ``kinds`` to ``address`` (normalised: sub-addresses
    count as the address) were queued after ``since``: what the per-address limit
    (invariant 3) counts, a guard against loops with auto-responders that do not mark their
    replies."""
    return executor.execute(
        _RECENT_AUTOMATIC,
        {"address": normalised_address(address), "since": since, "kinds": list(kinds)},
    ).scalar_one()


def automatic_sent_to_domain_since(
    executor: Connection | Session, domain: str, since: datetime, kinds: Sequence[str]
) -> int:
    """How many automatic messages of ``kinds`` to addresses at ``domain`` were queued after
    ``since``."""
    return executor.execute(
        _RECENT_AUTOMATIC_TO_DOMAIN,
        {"domain": domain.strip().lower(), "since": since, "kinds": list(kinds)},
    ).scalar_one()


def outbox_rows(
    session: Session,
    statuses: Iterable[OutboxStatus] = (OutboxStatus.PENDING, OutboxStatus.DEAD),
    *,
    limit: int | None = None,
) -> list[OutboxMessage]:
    """Rows in ``statuses``, oldest first, with their ticket loaded (``raw`` is not)."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status.in_([str(status) for status in statuses]))
        .order_by(OutboxMessage.id)
        .options(selectinload(OutboxMessage.ticket))
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class FlushReport:
    sent: int = 0
    retried: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: int
    ticket_id: int | None
    kind: str
    message_id: str
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int  # counting the one about to be made
    created_at: datetime
    ticket_number: int | None = None  # what logs name: the number an operator knows


@dataclass(frozen=True, slots=True)
class _Outcome:
    item: _Claimed
    result: str  # sent, retried, dead, released
    values: dict[str, Any] = field(default_factory=dict)


class OutboxWorker:
    """Sends due outbox rows through ``transport``; call ``flush()`` from a scheduler.

    ``flush`` claims up to ``batch_size`` due rows at a time and goes on until nothing is
    due, at most ``max_rounds`` batches per call. A batch is cut short, and its unsent rows
    handed back untouched, when half the lease has passed (so no other worker can take a row
    we are still sending), or when the relay is unavailable (the next flush tries again).
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        transport: Transport,
        now: Callable[[], datetime],
        *,
        max_attempts: int = 8,
        backoff: Callable[[int], timedelta] = default_backoff,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 50,
        max_rounds: int = 20,
    ) -> None:
        if max_attempts < 1 or batch_size < 1 or max_rounds < 1:
            raise ValueError("max_attempts, batch_size and max_rounds must be at least 1")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        self._sessions = session_factory
        self._transport = transport
        self._now = now
        self.retry = RetryPolicy(max_attempts, backoff)
        self.lease = lease
        self._batch_size = batch_size
        self._max_rounds = max_rounds

    def flush(self) -> FlushReport:
        counts = {"sent": 0, "retried": 0, "dead": 0, "released": 0}
        try:
            for _ in range(self._max_rounds):
                batch, claimed_at = self._claim()
                if not batch:
                    break
                outcomes, relay_down = self._deliver(batch, claimed_at)
                self._record(outcomes)
                for outcome in outcomes:
                    counts[outcome.result] += 1
                if relay_down:
                    break
        finally:
            close = getattr(self._transport, "close", None)
            if callable(close):
                close()
        return FlushReport(sent=counts["sent"], retried=counts["retried"], dead=counts["dead"])

    def _begin_write(self, session: Session) -> None:
        # On SQLite, take the write lock at BEGIN (storage.engine): a read transaction that
        # later writes can fail at once when the intake writer committed in between.
        session.connection(execution_options={WRITE_OPTION: True})

    def _claim(self) -> tuple[list[_Claimed], datetime]:
        with self._sessions() as session, session.begin():
            self._begin_write(session)
            now = self._now()
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.ticket_id,
                    OutboxMessage.kind,
                    OutboxMessage.message_id,
                    OutboxMessage.mail_from,
                    OutboxMessage.recipients,
                    OutboxMessage.raw,
                    OutboxMessage.attempts,
                    OutboxMessage.created_at,
                    _TICKET_NUMBER,
                )
                .where(
                    OutboxMessage.status == OutboxStatus.PENDING,
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return [], now
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in rows]))
                .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + self.lease)
                .execution_options(synchronize_session=False)
            )
        batch = [
            _Claimed(
                id=row.id,
                ticket_id=row.ticket_id,
                kind=row.kind,
                message_id=row.message_id,
                mail_from=row.mail_from,
                recipients=tuple(row.recipients),
                raw=row.raw,
                attempts=row.attempts + 1,
                created_at=row.created_at,
                ticket_number=row.ticket_number,
            )
            for row in rows
        ]
        return batch, now

    def _deliver(self, batch: list[_Claimed], claimed_at: datetime) -> tuple[list[_Outcome], bool]:
        """Send each claimed row; the outcomes, and whether the relay is down."""
        outcomes: list[_Outcome] = []
        deadline = claimed_at + self.lease / 2
        for index, item in enumerate(batch):
            if self._now() >= deadline:
                log.warning("outbox: lease half over; handing %d rows back", len(batch) - index)
                outcomes.extend(self._released(rest, claimed_at) for rest in batch[index:])
                return outcomes, False
            try:
                self._transport.send(item.mail_from, item.recipients, item.raw)
            except PermanentSendError as exc:
                outcomes.append(self._dead(item, str(exc)))
            except TransientSendError as exc:
                outcomes.append(self._retry(item, exc, exc.recipients))
                if isinstance(exc, RelayUnavailableError):
                    outcomes.extend(self._released(rest, claimed_at) for rest in batch[index + 1 :])
                    return outcomes, True
            except Exception as exc:  # a transport bug must not stop the outbox
                log.exception(
                    "outbox #%d (ticket #%s): unexpected send failure",
                    item.id,
                    item.ticket_number,
                    extra={"ticket": item.ticket_number},
                )
                outcomes.append(self._retry(item, exc, None))
            else:
                outcomes.append(self._sent(item))
        return outcomes, False

    def _sent(self, item: _Claimed) -> _Outcome:
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
        self, item: _Claimed, error: str, recipients: tuple[str, ...] | None = None
    ) -> _Outcome:
        log.error(
            "outbox #%d (ticket #%s, %s %s) is dead after %d attempt(s): %s",
            item.id,
            item.ticket_number,
            item.kind,
            item.message_id,
            item.attempts,
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

    def _retry(
        self, item: _Claimed, exc: Exception, recipients: tuple[str, ...] | None
    ) -> _Outcome:
        error = str(exc) or type(exc).__name__
        next_attempt_at = self.retry.next_attempt(item.attempts, item.created_at, self._now())
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

    def _released(self, item: _Claimed, claimed_at: datetime) -> _Outcome:
        # Not attempted: undo the claim so the attempt is not counted.
        return _Outcome(
            item, "released", {"attempts": item.attempts - 1, "next_attempt_at": claimed_at}
        )

    def _record(self, outcomes: list[_Outcome]) -> None:
        if not outcomes:
            return
        with self._sessions() as session, session.begin():
            self._begin_write(session)
            for outcome in outcomes:
                statement = update(OutboxMessage).where(OutboxMessage.id == outcome.item.id)
                if outcome.result != "sent":
                    # Only while the row is still ours: a sent message is recorded regardless.
                    statement = statement.where(
                        OutboxMessage.status == OutboxStatus.PENDING,
                        OutboxMessage.attempts == outcome.item.attempts,
                    )
                session.execute(
                    statement.values(**outcome.values).execution_options(synchronize_session=False)
                )
