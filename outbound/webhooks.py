"""Webhook delivery: the events ``maild.webhooks`` queued, signed and POSTed after the commit.

Durable as the outbox is (``outbound.outbox``): a delivery row is claimed in a short
transaction with a lease, sent outside any transaction, and its outcome written in a second
one; a failed attempt is tried again after the outbox's backoff and given up at the outbox's
time (its :class:`~outbound.outbox.RetryPolicy`), then parked as dead, where ``maild webhooks
list`` shows it and ``maild webhooks retry`` sends it again. Delivery is at least once: a
worker killed between sending and recording leaves the row to be sent again when its lease
runs out, under the same ``webhook-id``, by which a receiver tells a repeat.

The worker runs on an asyncio event loop (the daemon's) with an httpx ``AsyncClient``: every
request has timeouts, at most ``max_in_flight`` are open at once, and the database work runs
in a thread. A slow or dead receiver costs waiting coroutines, never the intake writer's time.

Requests are signed with the Standard Webhooks scheme (``webhook-id``, ``webhook-timestamp``,
``webhook-signature``, the ``standardwebhooks`` package), so a receiver checks them with any
Standard Webhooks library. ``webhook-timestamp`` is the wall-clock time of the attempt, even
when the clock that schedules attempts is a test's: receivers refuse a timestamp more than a
few minutes off their own clock.

Imports ``storage`` (and ``outbound.outbox`` for its retry policy, ``outbound.recording``)
only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine
from standardwebhooks import Webhook

from outbound.outbox import RetryPolicy
from outbound.recording import write_until_done
from storage import webhooks
from storage.engine import writer_engine
from storage.models import WebhookStatus
from storage.webhooks import Claimed

__all__ = [
    "DeliveryFailed",
    "Endpoint",
    "WebhookReport",
    "WebhookWorker",
    "post",
    "signed_headers",
]

log = logging.getLogger(__name__)

USER_AGENT = "maild-webhooks"
DEFAULT_TIMEOUT = 10.0
"""Seconds a request may take in all (connecting at most 5 of them)."""
_MAX_ERROR_CHARS = 2000
_MAX_BODY_IN_ERROR = 200

Outcome = str
"""What became of one attempt: ``delivered``, ``failed`` (tried again later), ``dead``
(given up), or ``released`` (not attempted: handed back unchanged)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A ``[[webhooks]]`` receiver: where to POST and the secret (``whsec_…``) to sign with."""

    name: str
    url: str
    secret: str


class DeliveryFailed(Exception):
    """The receiver did not take the request: no answer in time, or not a 2xx answer."""


def signed_headers(secret: str, msg_id: str, body: bytes, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of ``body`` sent as ``msg_id`` at ``at``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def new_client(timeout: float = DEFAULT_TIMEOUT, max_in_flight: int = 8) -> httpx.AsyncClient:
    """The HTTP client of webhook delivery: timeouts on everything, no redirects followed
    (a receiver that moved says so by failing), a bounded connection pool."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        limits=httpx.Limits(max_connections=max_in_flight),
        follow_redirects=False,
    )


async def post(
    client: httpx.AsyncClient, endpoint: Endpoint, msg_id: str, body: bytes, at: datetime
) -> int:
    """POST ``body`` to ``endpoint``, signed; the status code of a 2xx answer. Raises
    :class:`DeliveryFailed` with the reason for anything else."""
    headers = signed_headers(endpoint.secret, msg_id, body, at)
    try:
        response = await client.post(endpoint.url, content=body, headers=headers)
    except httpx.TimeoutException as error:
        raise DeliveryFailed(f"no answer in time ({type(error).__name__})") from error
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
    if not response.is_success:
        text = response.text.strip().replace("\n", " ")[:_MAX_BODY_IN_ERROR]
        raise DeliveryFailed(f"HTTP {response.status_code} {response.reason_phrase} {text}".strip())
    return response.status_code


def _wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WebhookReport:
    delivered: int = 0
    failed: int = 0
    dead: int = 0


@dataclass(frozen=True, slots=True)
class _Result:
    item: Claimed
    outcome: Outcome
    values: Mapping[str, Any]


class WebhookWorker:
    """Sends the due webhook deliveries; ``await flush()`` from the daemon's event loop.

    ``flush`` claims up to ``batch_size`` due rows at a time and goes on until nothing is
    due, at most ``max_rounds`` batches per call (or until ``stopping()`` says so). A row
    not yet started when half its lease has passed, or when ``stopping()``, is handed back
    untouched, so no other worker can take a row this one still sends.
    ``on_outcome(webhook, outcome)`` is told of every attempt (the daemon's metrics count
    them)."""

    def __init__(
        self,
        engine: Engine,
        endpoints: Mapping[str, Endpoint],
        now: Callable[[], datetime],
        *,
        retry: RetryPolicy,
        lease: timedelta = timedelta(minutes=5),
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        batch_size: int = 50,
        max_in_flight: int = 8,
        max_rounds: int = 20,
        wall: Callable[[], datetime] = _wall_clock,
        on_outcome: Callable[[str, Outcome], None] | None = None,
    ) -> None:
        if batch_size < 1 or max_in_flight < 1 or max_rounds < 1:
            raise ValueError("batch_size, max_in_flight and max_rounds must be at least 1")
        if lease <= timedelta(0):
            raise ValueError("lease must be positive")
        self._engine = engine
        self._writer = writer_engine(engine)
        self._endpoints = dict(endpoints)
        self._now = now
        self._retry = retry
        self._lease = lease
        self._client = client or new_client(timeout, max_in_flight)
        self._slots = asyncio.Semaphore(max_in_flight)
        self._batch_size = batch_size
        self._max_rounds = max_rounds
        self._wall = wall
        self._on_outcome = on_outcome

    async def aclose(self) -> None:
        await self._client.aclose()

    async def flush(self, stopping: Callable[[], bool] = lambda: False) -> WebhookReport:
        counts = {"delivered": 0, "failed": 0, "dead": 0, "released": 0}
        for _ in range(self._max_rounds):
            if stopping():
                break
            batch, claimed_at = await asyncio.to_thread(self._claim)
            if not batch:
                break
            attempts = (self._attempt(item, claimed_at, stopping) for item in batch)
            results = await asyncio.gather(*attempts)
            await asyncio.to_thread(self._record, results, stopping)
            for result in results:
                counts[result.outcome] += 1
                if self._on_outcome is not None and result.outcome != "released":
                    self._on_outcome(result.item.webhook, result.outcome)
        return WebhookReport(counts["delivered"], counts["failed"], counts["dead"])

    def _claim(self) -> tuple[list[Claimed], datetime]:
        now = self._now()
        with self._engine.connect() as connection:
            if not webhooks.any_due(connection, now):
                return [], now
        with self._writer.begin() as connection:
            now = self._now()
            return webhooks.claim(connection, now, self._lease, self._batch_size), now

    async def _attempt(
        self, item: Claimed, claimed_at: datetime, stopping: Callable[[], bool]
    ) -> _Result:
        async with self._slots:
            # Not started: handed back untouched when the daemon stops (it need not wait for
            # a slow receiver's whole batch) or half the lease has passed.
            if stopping() or self._now() >= claimed_at + self._lease / 2:
                values = {"attempts": item.attempts - 1, "next_attempt_at": claimed_at}
                return _Result(item, "released", values)
            endpoint = self._endpoints.get(item.webhook)
            if endpoint is None:
                return self._dead(item, f"no [[webhooks]] named {item.webhook!r} any more")
            try:
                await post(self._client, endpoint, item.msg_id, item.payload.encode(), self._wall())
            except DeliveryFailed as error:
                return self._failed(item, str(error))
            except Exception as error:  # a bug here must not stop the other deliveries
                log.exception("webhook delivery #%d: unexpected failure", item.id)
                return self._failed(item, f"{type(error).__name__}: {error}")
        log.info(
            "webhook %s: %s (ticket #%s) delivered as %s",
            item.webhook,
            item.event,
            item.ticket_number,
            item.msg_id,
            extra={"ticket": item.ticket_number},
        )
        values = {"status": WebhookStatus.DELIVERED, "delivered_at": self._now()}
        return _Result(item, "delivered", values)

    def _failed(self, item: Claimed, error: str) -> _Result:
        next_attempt_at = self._retry.next_attempt(item.attempts, item.since, self._now())
        if next_attempt_at is None:
            return self._dead(item, error)
        log.warning(
            "webhook %s: %s (ticket #%s) attempt %d failed, next at %s: %s",
            item.webhook,
            item.event,
            item.ticket_number,
            item.attempts,
            next_attempt_at.isoformat(),
            error,
            extra={"ticket": item.ticket_number},
        )
        values = {"next_attempt_at": next_attempt_at, "last_error": error[:_MAX_ERROR_CHARS]}
        return _Result(item, "failed", values)

    def _dead(self, item: Claimed, error: str) -> _Result:
        log.error(
            "webhook %s: %s (ticket #%s) is dead after %d attempt(s): %s",
            item.webhook,
            item.event,
            item.ticket_number,
            item.attempts,
            error,
            extra={"ticket": item.ticket_number},
        )
        values = {"status": WebhookStatus.DEAD, "last_error": error[:_MAX_ERROR_CHARS]}
        return _Result(item, "dead", values)

    def _record(self, results: Sequence[_Result], stopping: Callable[[], bool]) -> None:
        """Write the outcomes, trying again until the database takes them: a delivery the
        receiver answered is not sent again because the database was busy."""
        if not results:
            return
        more = f" and {len(results) - 1} more" if len(results) > 1 else ""
        write_until_done(
            lambda: self._write(results),
            what=f"webhook delivery #{results[0].item.id} {results[0].outcome}{more}",
            stopping=stopping,
            ticket=results[0].item.ticket_number,
        )

    def _write(self, results: Sequence[_Result]) -> None:
        with self._writer.begin() as connection:
            for result in results:
                webhooks.finish(
                    connection,
                    result.item,
                    result.values,
                    guarded=result.outcome != "delivered",
                )
