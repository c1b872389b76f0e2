"""Listening sockets for the SMTP and LMTP receivers, on the caller's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, syntax

from maild.receiver import replies
from maild.receiver.handler import IntakeHandler
from maild.receiver.limits import ReceiverLimits


class LimitedProtocol(SMTP):
    """aiosmtpd's protocol with the flood limits of :mod:`maild.receiver.limits`.

    The connection limit is applied before aiosmtpd starts on a connection (no greeting, no
    task: one line and close). The byte limit is applied when DATA is sent, before the
    ``354``: aiosmtpd reads the whole message before any handler hook runs, so the handler
    would be too late.
    """

    limits: ReceiverLimits  # set on the classes protocol_class makes
    _admitted = False
    _refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._admitted:  # STARTTLS calls this again for a connection already counted
            if not self.limits.open_connection():
                self._refused = True
                assert isinstance(transport, asyncio.WriteTransport)
                transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")
                transport.close()  # after the line is written
                return
            self._admitted = True
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            # aiosmtpd never started on this connection: only the stream's own clean-up.
            asyncio.StreamReaderProtocol.connection_lost(self, error)
            return
        if self._admitted:
            self._admitted = False
            self.limits.close_connection()
        super().connection_lost(error)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        assert self.envelope is not None
        if arg or not self.envelope.rcpt_tos:
            await super().smtp_DATA(arg)  # aiosmtpd's own 501 / 503
            return
        # A declared SIZE of 0 is not believed; without one, the message may be the largest.
        size = declared_size(self.envelope.mail_options) or self.data_size_limit or 0
        if not self.limits.reserve(size):
            await self.push(replies.INSUFFICIENT_RESOURCES)
            return
        try:
            await super().smtp_DATA(arg)  # reads the message, then the handler stores it
        finally:
            self.limits.release(size)


def declared_size(mail_options: Iterable[str]) -> int | None:
    """The ``SIZE=`` parameter of MAIL FROM (RFC 1870); aiosmtpd has checked it already
    against the largest message size."""
    for option in mail_options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


def protocol_class(
    base: type[SMTP], line_length_limit: int, limits: ReceiverLimits
) -> type[LimitedProtocol]:
    """``base`` with a raised line limit and the flood limits: aiosmtpd refuses lines over
    1,000 characters by default, yet real MTAs pass such mail on (FIELD-NOTES.md). The line
    limit is read when the protocol is created, so it has to be a class attribute."""
    return type(
        f"Maild{base.__name__}",
        (LimitedProtocol, base),
        {"line_length_limit": line_length_limit, "limits": limits},
    )


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
    limits: ReceiverLimits,
) -> Listener:
    cls = protocol_class(LMTP if lmtp else SMTP, line_length_limit, limits)
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
