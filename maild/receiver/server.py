"""Listening sockets for the SMTP and LMTP receivers, on the caller's event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP

from maild.receiver.handler import IntakeHandler


def protocol_class(base: type[SMTP], line_length_limit: int) -> type[SMTP]:
    """``base`` with a raised line limit: aiosmtpd refuses lines over 1,000 characters by
    default, yet real MTAs pass such mail on (FIELD-NOTES.md). The limit is read when the
    protocol is created, so it has to be a class attribute."""
    return type(f"Maild{base.__name__}", (base,), {"line_length_limit": line_length_limit})


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


@dataclass
class Listener:
    """One listening socket and the protocol instances it has made."""

    name: str
    handler: IntakeHandler
    server: asyncio.base_events.Server
    sessions: set[SMTP] = field(default_factory=set)

    @property
    def port(self) -> int:
        return self.server.sockets[0].getsockname()[1]

    def close_sessions(self) -> None:
        for protocol in list(self.sessions):
            transport = getattr(protocol, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()


async def start_listener(
    name: str,
    listen: str,
    handler: IntakeHandler,
    *,
    lmtp: bool,
    hostname: str,
    max_message_size: int,
    line_length_limit: int,
) -> Listener:
    cls = protocol_class(LMTP if lmtp else SMTP, line_length_limit)
    host, port = split_listen(listen)
    sessions: set[SMTP] = set()

    def factory() -> SMTP:
        protocol = cls(
            handler,
            hostname=hostname,
            data_size_limit=max_message_size,
            enable_SMTPUTF8=True,
            ident="maild",
        )
        sessions.add(protocol)
        original = protocol.connection_lost

        def connection_lost(error: Exception | None) -> None:
            sessions.discard(protocol)
            original(error)

        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        return protocol

    server = await asyncio.get_running_loop().create_server(factory, host, port)
    return Listener(name, handler, server, sessions)
