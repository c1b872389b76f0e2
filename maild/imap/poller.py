"""The poller of one ``[[imap]]`` account: a thread inside ``maild serve``.

A check of the folder: SELECT it (which also tells its UIDVALIDITY), fetch what is new by
UID, hand each message to the intake service, wait for the commit, then move it to
``processed_folder`` or flag it ``\\Seen`` (invariant 1) and store how far it got. A message
the pipeline cannot process comes back quarantined, which is committed too, so it is moved
like the rest. A temporary failure (database locked or down, maild stopping) leaves the
message where it is: ``last_uid`` stops before it, and the next check, ``poll_interval``
later, fetches it again.

Between checks the poller waits in IDLE where the server offers it (renewed every
``idle_timeout``, below the 29 minutes servers allow) or sleeps ``poll_interval``. Network
errors and server restarts end the session; it reconnects after ``reconnect_delay``,
doubling up to ``reconnect_max_delay`` while the server stays away. :meth:`ImapPoller.stop`
ends any wait at once, lets the group in flight commit and be moved, ends IDLE and logs out.

One instance at a time reads an account (several instances on one database): the poller
takes a lease row (``storage.imap_lease``) before it logs in, and renews it before every
check and every third of ``lease`` while it waits. A poller that finds another instance's
lease running does not log in; it tries again every ``poll_interval`` (at most a third of
the lease) and takes over once that lease has run out. A poller that finds its lease taken
logs out. A clean stop gives the lease up at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy import Engine

from maild.clock import Clock
from maild.config import ImapAccount, MailboxConfig
from maild.imap.connection import ImapConnection
from maild.imap.errors import ImapError
from maild.imap.sync import advance, batches, start_from
from maild.imap.wakeup import Wakeup
from maild.pipeline.delivery import DeliveryResult
from maild.pipeline.envelope import stored_delivery
from maild.pipeline.errors import TemporaryFailure
from maild.pipeline.intake import IntakeService
from maild.pipeline.writer import DATABASE_UNAVAILABLE
from storage.engine import writer_engine
from storage.imap_lease import Lease, current_lease, release_lease, take_lease
from storage.imap_state import FolderKey, FolderPosition, load_position, save_position

log = logging.getLogger(__name__)

# How long a poller waits for the writer to commit one group before it leaves the messages
# for the next check (the writer answers within the database's busy timeout normally).
COMMIT_TIMEOUT = 300.0

Connect = Callable[[ImapAccount], ImapConnection]


@dataclass
class PollerStatus:
    """What a poller has done so far; read by tests and logs, written by its thread only."""

    account: str
    connected: bool = False
    connects: int = 0
    checks: int = 0  # folder checks completed
    stored: int = 0  # messages committed and then moved or flagged
    deferred: int = 0  # times a message was left in place after a temporary failure
    waiting_in_idle: bool = False
    holds_lease: bool = False  # this instance reads the account (the lease is its own)
    lease_waits: int = 0  # times it found another instance reading the account
    last_error: str | None = None
    outcomes: Counter[str] = field(default_factory=Counter)


class _DatabaseBusy(Exception):
    """The poller's own position could not be read or written now."""


class ImapPoller:
    def __init__(
        self,
        account: ImapAccount,
        mailbox: MailboxConfig,
        intake: IntakeService,
        engine: Engine,
        clock: Clock,
        *,
        connect: Connect = ImapConnection.open,
        commit_timeout: float = COMMIT_TIMEOUT,
    ) -> None:
        self.account = account
        self.name = account.display_name
        self.status = PollerStatus(self.name)
        self.key = FolderKey(
            self.name,
            f"{account.host}:{account.server_port}",
            account.username,
            account.folder,
        )
        self._mailbox = mailbox
        self._intake = intake
        self._read_engine = engine
        self._write_engine = writer_engine(engine)
        self._clock = clock
        self._connect = connect
        self._commit_timeout = commit_timeout
        self._wakeup = Wakeup()
        self._checked = False
        # Who this poller is in the lease row: the host, the process and a random part (a
        # restarted process, or a second poller of the account in one, is someone else).
        self.holder = f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(4)}"
        self._lease = timedelta(seconds=account.lease)
        self._renew_every = account.lease / 3
        self._renewed = float("-inf")  # monotonic time of the last renewal
        self._thread = threading.Thread(target=self._run, name=f"maild-imap-{self.name}")
        self._thread.daemon = True

    # ----------------------------------------------------------------------------------------
    # Lifecycle

    def start(self) -> ImapPoller:
        self._thread.start()
        return self

    def request_stop(self) -> None:
        self._wakeup.set()

    def stop(self, timeout: float | None = 30.0) -> bool:
        """End every wait, finish the group in flight, log out; True when it has ended."""
        self.request_stop()
        if self._thread.is_alive():
            self._thread.join(timeout)
        stopped = not self._thread.is_alive()
        if stopped:
            self._wakeup.close()
        else:
            log.warning("imap %s: still busy after %ss", self.name, timeout)
        return stopped

    @property
    def stopping(self) -> bool:
        return self._wakeup.is_set()

    def _run(self) -> None:
        account = self.account
        delay = account.reconnect_delay
        while not self.stopping:
            if not self._await_lease():
                break
            connection: ImapConnection | None = None
            try:
                connection = self._connect(account)
                self.status.connected = True
                self.status.connects += 1
                log.info(
                    "imap %s: logged in to %s as %s, reading %r",
                    self.name,
                    account.describe,
                    account.username,
                    account.folder,
                )
                self._session(connection)
            except ImapError as error:
                self.status.last_error = str(error)
                log.warning("imap %s: %s", self.name, error)
            except Exception as error:  # a bug: keep the poller alive, and say so loudly
                self.status.last_error = f"{type(error).__name__}: {error}"
                log.exception("imap %s: unexpected error", self.name)
            finally:
                self.status.connected = False
                self.status.waiting_in_idle = False
                if connection is not None:
                    connection.logout()
            if self.stopping:
                break
            if self._checked:  # the last session worked: start the backoff over
                delay, self._checked = account.reconnect_delay, False
            log.info("imap %s: connecting again in %g s", self.name, delay)
            if self._wakeup.sleep(delay):
                break
            delay = min(delay * 2, account.reconnect_max_delay)
        self._release_lease()
        log.info("imap %s: stopped", self.name)

    # ----------------------------------------------------------------------------------------
    # One session

    def _session(self, connection: ImapConnection) -> None:
        account = self.account
        if account.processed_folder and connection.ensure_folder(account.processed_folder):
            log.info("imap %s: created folder %r", self.name, account.processed_folder)
        use_idle = account.idle and connection.has_idle
        if account.idle and not use_idle:
            log.info(
                "imap %s: the server offers no IDLE; checking every %g s",
                self.name,
                account.poll_interval,
            )
        recheck = True
        while not self.stopping:
            held = self._renew_lease()
            if held is False:
                return  # another instance reads the account now: log out
            if held is None:  # the database did not answer: nothing could be stored anyway
                left_behind = True
            else:
                left_behind = self._check(connection)
                self._checked = True
                self.status.checks += 1
            if self.stopping:
                return
            # Something left behind is retried after poll_interval, even with IDLE.
            idle_wait = use_idle and not left_behind
            wait = account.idle_timeout if idle_wait else account.poll_interval
            if not use_idle:
                if self._sleep_holding_lease(wait):
                    return
                continue
            # IDLE ends in time for the next renewal; the check after it is cheap.
            wait = min(wait, self._renew_every)
            # Mail that arrived after the search is reported now: check once more rather
            # than IDLE (once: some servers repeat EXISTS on every NOOP).
            if recheck and any(_new_mail(response) for response in connection.noop()):
                recheck = False
                continue
            recheck = True
            self.status.waiting_in_idle = True
            try:
                if connection.wait_for_change(wait, self._wakeup) == "woken":
                    return
            finally:
                self.status.waiting_in_idle = False

    def _check(self, connection: ImapConnection) -> bool:
        """Store what is new in the folder; True when something had to be left for later."""
        account = self.account
        folder = connection.select(account.folder)
        try:
            known = self._load()
        except _DatabaseBusy:
            return True
        start = start_from(known, folder.uidvalidity)
        last_uid = start.last_uid
        if start.reset:
            assert known is not None
            log.warning(
                "imap %s: %r has a new UIDVALIDITY (%d, was %d): reading all of it again; "
                "what is stored already is recognised and skipped",
                self.name,
                account.folder,
                folder.uidvalidity,
                known.uidvalidity,
            )
        if known is None or start.reset:
            try:
                self._save(FolderPosition(folder.uidvalidity, 0))
            except _DatabaseBusy:
                return True
        if account.processed_folder and last_uid:
            # Stored before, but the move did not happen (connection lost, maild stopped).
            earlier = connection.uids_through(last_uid)
            if earlier:
                connection.move(earlier, account.processed_folder)
                log.info(
                    "imap %s: moved %d message(s) stored earlier to %r",
                    self.name,
                    len(earlier),
                    account.processed_folder,
                )
        new = connection.uids_from(last_uid + 1)
        if not new:
            return False
        sizes = connection.sizes(new)
        for batch in batches(new, sizes):
            if self.stopping:
                return False  # the rest waits for the next start
            if self._renew_lease(due_only=True) is False:
                return True  # another instance reads the account now
            stored, gone, left = self._store(connection, batch)
            self._acknowledge(connection, [uid for uid in batch if uid in stored])
            advanced = advance(last_uid, batch, stored | gone)
            if advanced != last_uid:
                try:
                    self._save(FolderPosition(folder.uidvalidity, advanced))
                except _DatabaseBusy:
                    return True
                last_uid = advanced
            if left:
                return True
        return False

    def _store(
        self, connection: ImapConnection, batch: list[int]
    ) -> tuple[set[int], set[int], int]:
        """Fetch ``batch`` and wait for its commit. The UIDs committed, the UIDs gone from the
        server meanwhile (expunged by someone else), and how many had to be left for later."""
        messages = connection.fetch(batch)
        gone = {uid for uid in batch if uid not in messages}
        stored: set[int] = set()
        futures: dict[int, Future[DeliveryResult]] = {}
        for uid in batch:
            raw = messages.get(uid)
            if raw is None:
                continue
            delivery = replace(stored_delivery(raw, self._mailbox, "imap"), account=self.name)
            [futures[uid]] = self._intake.submit_per_mailbox(delivery).values()
        outcomes: Counter[str] = Counter()
        left = 0
        for uid, future in futures.items():
            try:
                result = future.result(timeout=self._commit_timeout)
            except (TemporaryFailure, FutureTimeout) as error:
                left += 1
                self.status.last_error = str(error) or "commit timed out"
                continue
            except Exception as error:
                left += 1
                self.status.last_error = f"{type(error).__name__}: {error}"
                log.exception("imap %s: message UID %d not stored", self.name, uid)
                continue
            stored.add(uid)
            outcomes[str(result.outcome)] += 1
        self.status.outcomes.update(outcomes)
        self.status.deferred += left
        if outcomes:
            log.info(
                "imap %s: stored %s",
                self.name,
                ", ".join(f"{count} {outcome}" for outcome, count in sorted(outcomes.items())),
            )
        if left:
            log.warning(
                "imap %s: %d message(s) left in %r, trying again in %g s: %s",
                self.name,
                left,
                self.account.folder,
                self.account.poll_interval,
                self.status.last_error,
            )
        return stored, gone, left

    def _acknowledge(self, connection: ImapConnection, uids: list[int]) -> None:
        """After commit only: move (or flag) what is stored, including quarantined mail."""
        if not uids:
            return
        if self.account.processed_folder:
            connection.move(uids, self.account.processed_folder)
        else:
            connection.mark_seen(uids)
        self.status.stored += len(uids)

    # ----------------------------------------------------------------------------------------
    # The lease: one instance at a time reads the account

    def _await_lease(self) -> bool:
        """Wait until this poller holds the lease; False when it is stopping first."""
        retry = min(self.account.poll_interval, self._renew_every)
        waiting_for: str | None = None
        while not self.stopping:
            held = self._renew_lease()
            if held:
                return True
            if held is False:
                self.status.lease_waits += 1
                lease = self._current_lease()
                if lease is not None and lease.holder != waiting_for:
                    waiting_for = lease.holder
                    log.info(
                        "imap %s: read by another instance (%s, lease until %s); waiting",
                        self.name,
                        lease.holder,
                        lease.expires_at.isoformat(timespec="seconds"),
                    )
            if self._wakeup.sleep(retry):
                break
        return False

    def _renew_lease(self, *, due_only: bool = False) -> bool | None:
        """Take or renew the lease: True when this poller holds it, False when another
        instance does, None when the database did not answer. ``due_only``: only when a
        third of the lease has passed since the last renewal (True otherwise)."""
        if due_only and time.monotonic() - self._renewed < self._renew_every:
            return True
        try:
            with self._write_engine.begin() as db:
                held = take_lease(db, self.key, self.holder, self._clock.now(), self._lease)
        except DATABASE_UNAVAILABLE as error:
            self._database_busy(error)
            return None
        if held:
            self._renewed = time.monotonic()
            if not self.status.holds_lease:
                log.info(
                    "imap %s: this instance reads the account now (lease of %g s)",
                    self.name,
                    self.account.lease,
                )
        elif self.status.holds_lease:
            log.warning("imap %s: another instance took over the account; logging out", self.name)
        self.status.holds_lease = held
        return held

    def _sleep_holding_lease(self, seconds: float) -> bool:
        """Sleep ``seconds`` (until the next poll), renewing the lease on the way; True when
        woken (stopping) or the lease was lost."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self._wakeup.sleep(min(remaining, self._renew_every)):
                return True
            if deadline - time.monotonic() > 0 and self._renew_lease() is False:
                return True

    def _release_lease(self) -> None:
        """A clean stop: another instance may take over at once."""
        if not self.status.holds_lease:
            return
        self.status.holds_lease = False
        try:
            with self._write_engine.begin() as db:
                release_lease(db, self.key, self.holder, self._clock.now())
        except DATABASE_UNAVAILABLE as error:  # it runs out by itself
            log.warning("imap %s: could not give the lease up: %s", self.name, error)

    def _current_lease(self) -> Lease | None:
        try:
            with self._read_engine.connect() as db:
                return current_lease(db, self.key)
        except DATABASE_UNAVAILABLE:
            return None

    # ----------------------------------------------------------------------------------------
    # The stored position

    def _load(self) -> FolderPosition | None:
        try:
            with self._read_engine.connect() as db:
                return load_position(db, self.key)
        except DATABASE_UNAVAILABLE as error:
            self._database_busy(error)
            raise _DatabaseBusy from error

    def _save(self, position: FolderPosition) -> None:
        try:
            with self._write_engine.begin() as db:
                save_position(db, self.key, position, self._clock.now())
        except DATABASE_UNAVAILABLE as error:
            self._database_busy(error)
            raise _DatabaseBusy from error

    def _database_busy(self, error: Exception) -> None:
        self.status.last_error = f"database unavailable: {error}"
        self.status.deferred += 1
        log.warning(
            "imap %s: database unavailable, trying again in %g s",
            self.name,
            self.account.poll_interval,
        )


def _new_mail(response: object) -> bool:
    return (
        isinstance(response, tuple)
        and len(response) >= 2
        and response[1] in (b"EXISTS", b"RECENT")
        and isinstance(response[0], int)
        and response[0] > 0
    )
