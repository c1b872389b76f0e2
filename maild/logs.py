"""Logging set-up: text for a terminal (the default) or one JSON object per line for
journald/Loki (``[maild] log_format``), with the ticket number, Message-ID and source in
context where there are ones.

Code logs ``log.info("...", extra={"ticket": 1234})``; a block of work on one message puts
its Message-ID and source on every line inside it with ``with log_context(message_id=…,
source="smtp"):`` (a context variable: it holds for that thread or asyncio task only).
Text lines show the ticket (``-`` without one); JSON lines carry each field that exists.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType

FORMAT = "%(asctime)s %(levelname)-7s %(name)s [#%(ticket)s] %(message)s"
FORMATS = ("text", "json")
# What log_context and ``extra`` may attach, in the order JSON lines show them.
CONTEXT_KEYS = ("ticket", "message_id", "source")

_context: ContextVar[Mapping[str, object]] = ContextVar(
    "maild_log_context", default=MappingProxyType({})
)


@contextlib.contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Attach ``fields`` (some of :data:`CONTEXT_KEYS`; None or empty is left out) to every
    record logged inside the block by this thread or task; ``extra`` still wins."""
    unknown = set(fields) - set(CONTEXT_KEYS)
    if unknown:
        raise ValueError(f"not a log context field: {sorted(unknown)}")
    present = {key: value for key, value in fields.items() if value not in (None, "")}
    token = _context.set(MappingProxyType({**_context.get(), **present}))
    try:
        yield
    finally:
        _context.reset(token)


class LogContextFilter(logging.Filter):
    """Sets each of :data:`CONTEXT_KEYS` on the record: from ``extra``, else from
    :func:`log_context`, else None."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get()
        for key in CONTEXT_KEYS:
            if getattr(record, key, None) is None:
                setattr(record, key, context.get(key))
        return True


class TextFormatter(logging.Formatter):
    """:data:`FORMAT`, with ``-`` for a record without a ticket."""

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        if getattr(record, "ticket", None) is None:  # a copy: other handlers see the record
            record = logging.makeLogRecord({**record.__dict__, "ticket": "-"})
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, then ``ticket``, ``message_id`` and ``source`` where they exist, and
    ``exception`` with the traceback. ASCII only, so no locale can garble a line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str, log_format: str = "text") -> None:
    """Log to stderr at ``level`` in ``log_format`` (one of :data:`FORMATS`)."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, got {log_format!r}")
    handler = logging.StreamHandler()
    handler.addFilter(LogContextFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiosmtpd logs every connection at INFO (imapclient every closed one, httpx every
    # webhook request); that is noise at our default level.
    for noisy in ("mail.log", "alembic", "flufl.bounce", "imapclient", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    # mail-parser logs every odd MIME part and bad encoded word; parsing/ records those as
    # defects on the message instead.
    logging.getLogger("mailparser").setLevel(logging.CRITICAL)
