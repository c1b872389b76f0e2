"""Logging set-up: one format, with the ticket number in context where there is one.

Code logs ``log.info("...", extra={"ticket": 1234})``; records without it show ``-``.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [#%(ticket)s] %(message)s"


class TicketContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "ticket"):
            record.ticket = "-"
        return True


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TicketContextFilter())
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmtpd logs every connection at INFO (imapclient every closed one); that is noise at
    # our default level.
    for noisy in ("mail.log", "alembic", "flufl.bounce", "imapclient"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # mail-parser logs every odd MIME part and bad encoded word; parsing/ records those as
    # defects on the message instead.
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
