"""Writing down what a relay or a webhook receiver already did: tried until it is written.

Once the relay said ``250`` (or a receiver ``2xx``), the row must say so, or the message is
sent again when its lease runs out. A database locked by another process past its busy
timeout, or a PostgreSQL restart, is a reason to wait and write again, not to give up: only
a process that dies between the send and the write may cause a second copy. A daemon that
is stopping still tries for ``STOP_GRACE`` seconds, so a database that never comes back
cannot hold the shutdown forever.

Imports nothing of the project.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

FIRST_WAIT = 0.05
"""Seconds before the first retry of a failed write; doubled each time."""
MAX_WAIT = 5.0
"""At most this many seconds between two tries."""
STOP_GRACE = 30.0
"""Seconds a stopping daemon still tries before it gives up (and raises)."""


def write_until_done(
    write: Callable[[], None],
    *,
    what: str,
    stopping: Callable[[], bool],
    ticket: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Call ``write`` until it does not fail for want of the database; how many times it
    failed. ``what`` names the outcomes in the log; other errors (bugs) are raised at once."""
    wait = FIRST_WAIT
    failures = 0
    give_up_at: float | None = None
    while True:
        try:
            write()
            break
        except (OperationalError, InterfaceError) as exc:
            failures += 1
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if stopping():
                give_up_at = give_up_at or time.monotonic() + STOP_GRACE
                if time.monotonic() >= give_up_at:
                    log.error("shutting down without recording %s: %s", what, reason)
                    raise
            log.warning(
                "recording %s failed (%s); trying again in %.2f s",
                what,
                reason,
                wait,
                extra={"ticket": ticket},
            )
            sleep(wait)
            wait = min(wait * 2, MAX_WAIT)
    if failures:
        log.info("recorded %s after %d failed writes", what, failures, extra={"ticket": ticket})
    return failures
