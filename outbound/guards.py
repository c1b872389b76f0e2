"""The loop guards on automatic mail to customers (invariant 3), in one place.

An acknowledgement or a warning goes to an address only while it is not bouncing and has
not had its share of automatic mail this hour. The address counts normalised (lower case,
sub-address removed), so ``victim+1@`` … ``victim+200@`` share one budget; with
``[maild] auto_reply_domain_limit`` the recipient's domain has a budget too.

Imports ``storage`` and ``outbound`` only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from storage import tickets
from storage.outbox import automatic_sent_since, automatic_sent_to_domain_since

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AutomaticMailLimits:
    """Automatic messages per hour: per normalised address, and per domain (0: no limit)."""

    per_address: int
    per_domain: int = 0


def held_back(
    executor: Connection | Session,
    address: str,
    now: datetime,
    limits: AutomaticMailLimits,
    *,
    kinds: Sequence[str],
) -> str | None:
    """Why automatic mail to ``address`` must not be queued now, or None when it may.
    ``kinds``: the kinds of mail that count against the budget."""
    connection = executor if isinstance(executor, Connection) else executor.connection()
    if tickets.is_bouncing(connection, address):
        return "address is bouncing"
    since = now - WINDOW
    if automatic_sent_since(executor, address, since, kinds) >= limits.per_address:
        log.warning(
            "automatic mail to %s held back: %d per hour already", address, limits.per_address
        )
        return "per-address limit reached"
    domain = address.rpartition("@")[2]
    if (
        limits.per_domain
        and automatic_sent_to_domain_since(executor, domain, since, kinds) >= limits.per_domain
    ):
        log.warning(
            "automatic mail to %s held back: %d per hour to %s already",
            address,
            limits.per_domain,
            domain,
        )
        return "per-domain limit reached"
    return None
