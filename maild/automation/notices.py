"""Notifiers that change when the notices of an action go out: never, or later.

Assignment and escalation tell people through a :class:`~maild.ticketing.notify.Notifier`
as they act. Two callers want otherwise:

* :class:`QuietNotifier` tells nobody: the rules still classify and assign mail stored
  without notifications (``maild import`` of old mail), but no "assigned to you" goes out;
* :class:`HeldNotifier` keeps the notices until :meth:`HeldNotifier.release`: an agent's
  mail of several commands (``#assign bob`` then ``#priority high``) sends "assigned to you"
  once all of them ran, so the notice shows the ticket as the mail left it, and sends
  nothing when the commands are undone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from maild.ticketing.notify import Notifier, Recipient
from maild.ticketing.record import TicketRecord


class QuietNotifier(Notifier):
    """Tells nobody."""

    def __init__(self, notifier: Notifier) -> None:
        self.__dict__.update(vars(notifier))

    def send(self, *args: Any, **kwargs: Any) -> list[str]:
        return []


class HeldNotifier(Notifier):
    """Holds every notice until :meth:`release`, which composes them from the ticket record
    as it is then (the record is the editor's: later changes show)."""

    def __init__(self, notifier: Notifier) -> None:
        self.__dict__.update(vars(notifier))
        self._notifier = notifier
        self._held: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def send(
        self,
        connection: Connection,
        record: TicketRecord,
        recipients: Sequence[Recipient],
        **options: Any,
    ) -> list[str]:
        """Hold the notice; the addresses it is meant for (the caller's "who was told")."""
        self._held.append(((connection, record, recipients), options))
        skipped = {address.lower() for address in options.get("skip", ())}
        return [r.address for r in recipients if r.address not in skipped]

    def release(self) -> list[str]:
        """Send what was held, in order; the addresses it was queued for."""
        held, self._held = self._held, []
        sent: list[str] = []
        for args, kwargs in held:
            sent += self._notifier.send(*args, **kwargs)
        return sent

    def drop(self) -> None:
        """Forget what was held (the changes it was about were undone)."""
        self._held = []
