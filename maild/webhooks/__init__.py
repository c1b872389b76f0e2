"""Webhooks: ticket events POSTed to other systems, signed the Standard Webhooks way.

What a ``[[webhooks]]`` entry may subscribe to is :data:`EVENTS`. The parts:

- :mod:`maild.webhooks.queue` turns the events a transaction writes into delivery rows in
  that same transaction (called by ``EventLog.write``, the one writer of ticket events);
- :mod:`maild.webhooks.endpoints` reads each receiver's secret from the environment;
- :mod:`maild.webhooks.runner` runs ``outbound.webhooks.WebhookWorker`` in ``maild serve``.

May import the configuration, ``parsing``, ``storage`` and ``outbound``; ``maild.ticketing``
imports it (and nothing here imports the runtime or the ticketing code back).
"""

from __future__ import annotations

from maild.config import WEBHOOK_EVENTS as EVENTS

__all__ = ["EVENTS", "PING"]

PING = "ping"
"""The event ``maild webhooks test NAME`` sends; no subscription needed."""
