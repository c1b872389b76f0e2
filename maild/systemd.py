"""systemd's notify protocol, for ``maild serve`` under ``Type=notify`` and ``WatchdogSec=``.

systemd hands the service ``$NOTIFY_SOCKET`` (a unix datagram socket; a leading ``@`` means
the abstract namespace) and, with a watchdog, ``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``).
The service sends newline-separated ``KEY=VALUE`` states (sd_notify(3)): ``READY=1`` once
it takes mail, ``WATCHDOG=1`` at least every half interval, ``RELOADING=1`` … ``READY=1``
around a reload, ``STOPPING=1`` when shutdown begins, ``STATUS=…`` for ``systemctl
status``. Outside systemd (no ``$NOTIFY_SOCKET``) every send is a no-op.

A few lines of the standard library rather than a package: one datagram per call. A send
that fails is logged, never raised (the daemon's mail matters more than its supervisor),
and never blocks the event loop for long.

Imports nothing of the project.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger(__name__)

# A datagram to a unix socket blocks only when the receiver's queue is full: systemd is
# then in trouble, and the event loop must not wait on it for long.
SEND_TIMEOUT = 0.5


def socket_address(value: str) -> str | None:
    """The ``$NOTIFY_SOCKET`` value as an ``AF_UNIX`` address: a path, or ``@name`` for
    the abstract namespace (a leading NUL byte); None when it is neither."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. "vsock:…", which systemd 254+ may pass and maild does not speak


@dataclass(frozen=True, slots=True)
class SdNotify:
    """Where to tell systemd about this process, and how often to pet its watchdog."""

    address: str | None = None
    # Seconds between WATCHDOG=1 (half of $WATCHDOG_USEC); None: no watchdog.
    watchdog_interval: float | None = None

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, pid: int | None = None
    ) -> SdNotify:
        environ = os.environ if environ is None else environ
        address = socket_address(environ.get("NOTIFY_SOCKET", ""))
        return cls(address, _watchdog_interval(environ, os.getpid() if pid is None else pid))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *states: str) -> bool:
        """Send ``states`` (``"READY=1"``, ``"STATUS=…"``) as one message; True when sent."""
        if self.address is None:
            return False
        payload = "\n".join(states).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.settimeout(SEND_TIMEOUT)
                sock.sendto(payload, self.address)
        except OSError as error:
            log.warning("cannot notify systemd (%s): %s", states[0] if states else "-", error)
            return False
        return True


def reloading() -> tuple[str, str]:
    """The states that start a reload; ``MONOTONIC_USEC`` is what ``Type=notify-reload``
    (systemd 253+) requires beside ``RELOADING=1``."""
    return "RELOADING=1", f"MONOTONIC_USEC={time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000}"


async def pet_watchdog(notify: SdNotify, healthy: Callable[[], bool]) -> None:
    """Send ``WATCHDOG=1`` every ``watchdog_interval`` from the running event loop, while
    ``healthy()`` says so: a loop that is stuck, or a daemon that can no longer take
    mail, stops petting, and systemd restarts it (``Restart=on-failure``). Runs until
    cancelled; returns at once without a watchdog."""
    interval = notify.watchdog_interval
    if interval is None or not notify.enabled:
        return
    petting = True
    while True:
        if healthy():
            notify.send("WATCHDOG=1")
            petting = True
        elif petting:
            log.error("not petting systemd's watchdog any more: maild cannot take mail")
            petting = False
        await asyncio.sleep(interval)


def _watchdog_interval(environ: Mapping[str, str], pid: int) -> float | None:
    try:
        usec = int(environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    watchdog_pid = environ.get("WATCHDOG_PID", "")
    if watchdog_pid and watchdog_pid != str(pid):
        return None  # meant for another process (a parent that started us)
    return usec / 2 / 1_000_000
