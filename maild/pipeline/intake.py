"""The one intake service every source hands its bytes to.

It parses each message once, outside any transaction, works out which configured mailboxes
the envelope reaches, and queues one job per mailbox on the group-commit writer.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, InvalidStateError

from maild.config import Config, MailboxConfig
from maild.pipeline.delivery import Delivery, DeliveryResult, Job
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.mailboxes import MailboxDirectory
from maild.pipeline.writer import GroupCommitWriter
from outbound.compose import TokenAddress
from parsing import ParsedMail, parse_message
from parsing.parse import MAX_MIME_DEPTH, empty_parsed_mail

log = logging.getLogger(__name__)

Settled = Callable[[Delivery, DeliveryResult | BaseException, float], None]
"""Told of each delivery for one mailbox once it is settled: the delivery, its result (or
the exception that deferred it), and the seconds since the source handed it in."""


def parse_raw(raw: bytes, ticket_prefix: str, max_mime_depth: int = MAX_MIME_DEPTH) -> ParsedMail:
    """Parse once; a parser failure becomes a message for quarantine, never an exception."""
    try:
        return parse_message(raw, ticket_prefix=ticket_prefix, max_mime_depth=max_mime_depth)
    except Exception as error:  # parse_message promises not to raise; never trust that
        log.exception("parser failed")
        return empty_parsed_mail(
            f"parser error: {type(error).__name__}: {error}", ("parser-error",)
        )


class NoMailbox(ValueError):
    """None of the recipients is a configured support mailbox."""


class IntakeService:
    def __init__(
        self, config: Config, writer: GroupCommitWriter, mailboxes: MailboxDirectory
    ) -> None:
        self._prefix = config.maild.ticket_prefix
        self._max_mime_depth = config.intake.max_mime_depth
        self._writer = writer
        self.mailboxes = mailboxes
        self._settled: list[Settled] = []

    def on_settled(self, listener: Settled) -> None:
        """Call ``listener`` for every delivery for one mailbox, after its commit (or its
        failure), from the writer's thread: what ``/metrics`` counts and times. Here, not
        in a source, so that every source is counted alike."""
        self._settled.append(listener)

    def parse(self, raw: bytes) -> ParsedMail:
        return parse_raw(raw, self._prefix, self._max_mime_depth)

    def submit_per_mailbox(
        self,
        delivery: Delivery,
        *,
        quarantine_id: int | None = None,
        parsed: ParsedMail | None = None,
    ) -> dict[str, Future[DeliveryResult]]:
        """Queue ``delivery`` once for each mailbox it reaches; futures keyed by mailbox.

        ``parsed``: the result of :meth:`parse` for these bytes, when the caller parsed them
        already (``maild import`` parses in worker processes)."""
        handed_in = time.perf_counter()
        targets = self._targets(delivery.rcpt_tos)
        if not targets:
            raise NoMailbox(f"no configured mailbox among {list(delivery.rcpt_tos)}")
        if parsed is None:
            parsed = self.parse(delivery.raw)
        futures = {
            box.address: self._writer.submit(
                Job(
                    delivery,
                    parsed,
                    box,
                    tuple(dict.fromkeys(t.token for t in tokens)),
                    quarantine_id,
                    tuple(t.verp_id for t in tokens if t.verp_id),
                )
            )
            for box, tokens in targets.values()
        }
        if self._settled:
            for future in futures.values():
                future.add_done_callback(functools.partial(self._tell, delivery, handed_in))
        return futures

    def _tell(self, delivery: Delivery, handed_in: float, future: Future[DeliveryResult]) -> None:
        if future.cancelled():  # the source gave up waiting; the writer still stores it
            return
        seconds = time.perf_counter() - handed_in
        result = future.exception() or future.result()
        for listener in self._settled:
            try:
                listener(delivery, result, seconds)
            except Exception:  # counting must never stand in the way of intake
                log.exception("intake listener failed")

    def submit(self, delivery: Delivery) -> Future[tuple[DeliveryResult, ...]]:
        """Queue ``delivery``; the future resolves after commit with one result per mailbox,
        or fails with :class:`TemporaryFailure` if any mailbox's copy could not be stored."""
        futures = list(self.submit_per_mailbox(delivery).values())
        combined: Future[tuple[DeliveryResult, ...]] = Future()
        remaining = [len(futures)]

        def _done(_: Future[DeliveryResult]) -> None:
            remaining[0] -= 1
            if remaining[0] or combined.cancelled():
                return
            errors = [f.exception() for f in futures if not f.cancelled() and f.exception()]
            with contextlib.suppress(InvalidStateError):  # cancelled meanwhile: nobody waits
                if errors:
                    combined.set_exception(errors[0] or TemporaryFailure("unknown"))
                elif any(f.cancelled() for f in futures):
                    combined.cancel()
                else:
                    combined.set_result(tuple(f.result() for f in futures))

        for future in futures:
            future.add_done_callback(_done)
        return combined

    def deliver(
        self, delivery: Delivery, timeout: float | None = None
    ) -> tuple[DeliveryResult, ...]:
        """Store ``delivery`` and wait for the commit; raises :class:`TemporaryFailure`."""
        return self.submit(delivery).result(timeout)

    def _targets(
        self, rcpt_tos: Iterable[str]
    ) -> dict[str, tuple[MailboxConfig, list[TokenAddress]]]:
        targets: dict[str, tuple[MailboxConfig, list[TokenAddress]]] = {}
        for rcpt in rcpt_tos:
            recipient = self.mailboxes.resolve(rcpt)
            if recipient is None:
                continue
            _, tokens = targets.setdefault(recipient.mailbox.address, (recipient.mailbox, []))
            if recipient.token:
                tokens.append(recipient.token)
        return targets
