"""The aiosmtpd handler shared by the SMTP and LMTP servers.

Recipients are checked at RCPT time: only configured mailboxes (and their ``+token``
sub-addresses) are accepted, so maild is never an open relay. At DATA the message goes to
the intake service, and the answer is given only after the transaction that stores it has
committed (invariant 1). SMTP gives one answer per message; LMTP one per recipient.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Future
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from maild.logs import log_context
from maild.pipeline.delivery import Delivery, DeliveryResult, Outcome
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.intake import IntakeService
from maild.receiver import replies

log = logging.getLogger(__name__)


class IntakeHandler:
    def __init__(self, intake: IntakeService, *, lmtp: bool) -> None:
        self._intake = intake
        self._lmtp = lmtp
        self._source = "lmtp" if lmtp else "smtp"
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not self._intake.mailboxes.is_ours(address):
            log.info(
                "rejected recipient %s from %s",
                address,
                session.peer,
                extra={"source": self._source},
            )
            return replies.UNKNOWN_RECIPIENT.format(address=_printable(address))
        envelope.rcpt_tos.append(address)
        return replies.RECIPIENT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.in_flight += 1
        self.idle.clear()
        try:
            with log_context(source=self._source):
                return await self._store(envelope)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def handle_exception(self, error: Exception) -> str:
        log.error("receiver error", exc_info=error)
        return replies.INTERNAL_ERROR

    async def _store(self, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        delivery = Delivery(
            raw=raw,
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            source=self._source,
        )
        futures = self._intake.submit_per_mailbox(delivery)
        answers = {box: await _answer(future) for box, future in futures.items()}
        if not self._lmtp:
            failed = [a for a in answers.values() if not a.startswith("2")]
            return failed[0] if failed else next(iter(answers.values()))
        # LMTP: one answer per accepted recipient, in RCPT order (RFC 2033).
        lines = []
        for rcpt in envelope.rcpt_tos:
            recipient = self._intake.mailboxes.resolve(rcpt)
            assert recipient is not None  # checked at RCPT
            lines.append(answers[recipient.mailbox.address])
        return "\r\n".join(lines)


async def _answer(future: Future[DeliveryResult]) -> str:
    try:
        result = await asyncio.wrap_future(future)
    except TemporaryFailure:
        return replies.TEMPORARY_FAILURE
    except Exception:
        log.exception("unexpected intake failure")
        return replies.INTERNAL_ERROR
    if result.outcome is Outcome.QUARANTINED:
        return replies.QUARANTINED
    if result.outcome is Outcome.DUPLICATE:
        return replies.DUPLICATE.format(number=result.ticket_number)
    return replies.STORED.format(number=result.ticket_number)


def _printable(value: Any) -> str:
    return "".join(ch for ch in str(value) if ch.isprintable())[:320]
