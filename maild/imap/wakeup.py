"""Waiting that another thread can cut short: a poller waits for its server (IDLE), for the
next poll or for its backoff to pass, and ``maild serve`` must be able to stop it at once."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from typing import Literal


class Wakeup:
    """A flag that also wakes a ``select``: set it from any thread to end every wait."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)

    def set(self) -> None:
        self._event.set()
        # OSError: already closed, or the buffer is full of earlier wake-ups.
        with contextlib.suppress(OSError):
            self._writer.send(b"x")

    def is_set(self) -> bool:
        return self._event.is_set()

    def sleep(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True when woken."""
        return self._event.wait(max(0.0, seconds))

    def wait(
        self, timeout: float, sock: socket.socket | None = None
    ) -> Literal["woken", "readable", "timeout"]:
        """Until woken, ``sock`` has data, or ``timeout`` seconds have passed."""
        if self._event.is_set():
            return "woken"
        deadline = time.monotonic() + max(0.0, timeout)
        with selectors.DefaultSelector() as selector:
            selector.register(self._reader, selectors.EVENT_READ, "woken")
            if sock is not None:
                selector.register(sock, selectors.EVENT_READ, "readable")
            while True:
                remaining = max(0.0, deadline - time.monotonic())
                ready = {key.data for key, _ in selector.select(remaining)}
                if "woken" in ready or self._event.is_set():
                    return "woken"
                if "readable" in ready:
                    return "readable"
                if time.monotonic() >= deadline:
                    return "timeout"

    def close(self) -> None:
        self._reader.close()
        self._writer.close()
