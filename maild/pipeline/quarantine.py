"""Quarantine: a message the pipeline cannot process is kept raw, with the reason.

Storing it is what lets the source acknowledge it (invariant 1): nothing is dropped, and a
human can retry it with ``maild quarantine retry`` once the cause is fixed.
"""

from __future__ import annotations

import traceback
from datetime import datetime

from sqlalchemy.orm import Session

from maild.pipeline.delivery import Delivery
from storage.models import QuarantinedMessage, QuarantineStatus


def quarantine(
    session: Session,
    delivery: Delivery,
    mailbox: str,
    reason: str,
    now: datetime,
    error: BaseException | None = None,
) -> QuarantinedMessage:
    detail = None
    if error is not None:
        detail = "".join(traceback.format_exception(error))
    row = QuarantinedMessage(
        received_at=now,
        source=delivery.source,
        mail_from=delivery.mail_from,
        recipients=list(delivery.rcpt_tos),
        mailbox=mailbox,
        error=reason,
        detail=detail,
        raw=delivery.raw,
        status=QuarantineStatus.HELD,
    )
    session.add(row)
    session.flush()
    return row
