"""What the SMTP and LMTP receivers hold at once: open connections and message bytes.

aiosmtpd reads a whole message into memory before the handler sees it, so a flood of
connections, or of large messages sent together, would grow the daemon without bound. One
:class:`ReceiverLimits` is shared by both listeners: the bounds are the process's. A new
connection beyond ``max_connections`` is answered ``421``; a DATA command whose message
would take the bytes in flight beyond ``max_bytes_in_flight`` is answered ``451`` before
the message is read. Both are temporary answers: the sending MTA tries again later.

Only the event loop's thread calls these methods (protocol callbacks and coroutines), so
plain counters are enough. Refusals are logged when they start and when they stop, not one
line per refused connection: the log must not become the next flood.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class ReceiverLimits:
    def __init__(self, *, max_connections: int, max_bytes_in_flight: int) -> None:
        self.max_connections = max_connections
        self.max_bytes_in_flight = max_bytes_in_flight
        self.connections = 0
        self.bytes_in_flight = 0
        self._refused_connections = 0
        self._refused_messages = 0

    def open_connection(self) -> bool:
        """Count a new connection; False when it is one too many (not counted then)."""
        if self.connections >= self.max_connections:
            if not self._refused_connections:
                log.warning(
                    "%d connections open ([smtp] max_connections): refusing new ones with 421",
                    self.connections,
                )
            self._refused_connections += 1
            return False
        if self._refused_connections:
            log.info("accepting connections again, after refusing %d", self._refused_connections)
            self._refused_connections = 0
        self.connections += 1
        return True

    def close_connection(self) -> None:
        self.connections -= 1

    def reserve(self, size: int) -> bool:
        """Hold ``size`` bytes for a message about to be received; False when they would
        take the bytes in flight beyond the bound (nothing is held then)."""
        if self.bytes_in_flight + size > self.max_bytes_in_flight:
            if not self._refused_messages:
                log.warning(
                    "%d bytes of messages in flight, %d more would pass [smtp] "
                    "max_bytes_in_flight (%d): deferring new messages with 451",
                    self.bytes_in_flight,
                    size,
                    self.max_bytes_in_flight,
                )
            self._refused_messages += 1
            return False
        if self._refused_messages:
            log.info("accepting messages again, after deferring %d", self._refused_messages)
            self._refused_messages = 0
        self.bytes_in_flight += size
        return True

    def release(self, size: int) -> None:
        self.bytes_in_flight -= size
