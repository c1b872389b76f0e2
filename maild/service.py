"""``maild serve``: the receivers, the IMAP pollers, the writer, the outbox worker, the
webhook worker and the scheduler (SLA sweep, auto-close, rules reload), with a clean
shutdown.

SIGTERM/SIGINT: stop listening, let every message already in DATA reach its commit and its
``250``, close the remaining connections, let each IMAP poller commit and move the group it
has in hand, store whatever is still queued, then exit 0.

SIGHUP: read the rules file, the template folders and the knowledge base again, at once
(the scheduler looks for changed files every ``reload_interval`` anyway); connections and
messages in flight are not touched.

Under systemd (``Type=notify``, ``contrib/systemd/maild.service``) ``serve_forever`` says
``READY=1`` once every listener answers, ``RELOADING=1``/``READY=1`` around a SIGHUP reload
and ``STOPPING=1`` when shutdown begins, and pets the watchdog from the event loop: a stuck
loop, or an intake writer that has died, stops the pets and systemd restarts the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import AsyncIterator

from maild.clock import Clock, SystemClock
from maild.config import Config
from maild.imap.poller import ImapPoller
from maild.metrics import Metrics, database_levels
from maild.pipeline.delivery import DeliveryResult, Outcome
from maild.receiver.handler import IntakeHandler
from maild.receiver.limits import ReceiverLimits
from maild.receiver.server import Listener, start_listener
from maild.runtime import Runtime
from maild.scheduler import Scheduler, SlaRun
from maild.systemd import SdNotify, pet_watchdog, reloading
from maild.web.server import WebListener, start_web
from maild.webhooks.endpoints import endpoints as webhook_endpoints
from maild.webhooks.runner import WebhookRunner
from outbound.outbox import FlushReport
from outbound.transport import Transport
from outbound.webhooks import WebhookReport, WebhookWorker

log = logging.getLogger(__name__)

DRAIN_TIMEOUT = 30.0
# After a commit wakes the outbox, wait this long for more to gather: under load one flush
# (two short transactions) then sends many messages instead of one each. The default of
# ``Service(outbox_gather=…)``; the tests' daemon passes 0 so a send is not a second's wait.
OUTBOX_GATHER_SECONDS = 1.0


class Service:
    def __init__(
        self,
        config: Config,
        clock: Clock | None = None,
        *,
        transport: Transport | None = None,
        outbox_gather: float = OUTBOX_GATHER_SECONDS,
    ) -> None:
        if outbox_gather < 0:
            raise ValueError("outbox_gather must not be negative")
        self.config = config
        self.clock = clock or SystemClock()
        self._transport = transport
        self._outbox_gather = outbox_gather
        # One flush at a time: the worker's and one asked for from elsewhere (a test).
        self._flush_lock = threading.Lock()
        self.listeners: dict[str, Listener] = {}
        # One set of flood limits for SMTP and LMTP together: the memory is the process's.
        self.limits = ReceiverLimits(
            max_connections=config.smtp.max_connections,
            max_bytes_in_flight=config.smtp.max_bytes_in_flight,
        )
        self.pollers: list[ImapPoller] = []
        self.web: WebListener | None = None
        self.runtime: Runtime | None = None
        self.scheduler: Scheduler | None = None
        # This service's own Prometheus registry (/metrics), made with the runtime.
        self.metrics: Metrics | None = None
        # The [[webhooks]] worker, when any is configured.
        self.webhooks: WebhookRunner | None = None
        self._stop = asyncio.Event()
        self._outbox_wake = asyncio.Event()
        self._outbox_stopping = False
        self._reload_wanted = asyncio.Event()

    def request_stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        """Reload soon, from the event loop's reload task (what SIGHUP does)."""
        self._reload_wanted.set()

    def reload(self) -> None:
        """Read the rules file, the template folders and the knowledge base again now.
        Nothing else changes: connections stay open, a message in progress keeps the rules
        it started with, and a file that does not load leaves what was in force (a bad
        rules file is mailed to the admins, as when the scheduler finds it)."""
        assert self.runtime is not None and self.scheduler is not None, "not running"
        log.info("reloading the rules file, templates and knowledge base")
        self.runtime.renderer.reload()
        self.scheduler.check_files()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        """Start everything; on exit shut down in the order that loses nothing."""
        loop = asyncio.get_running_loop()
        # Before anything starts: a webhook secret missing from the environment is a
        # configuration error (ConfigError, naming its key).
        endpoints = webhook_endpoints(self.config)
        with Runtime.open(self.config, self.clock, transport=self._transport) as runtime:
            self.runtime = runtime
            metrics = self.metrics = self._metrics(runtime)
            runtime.intake.on_settled(metrics.settled)
            runtime.on_commit(lambda results: self._wake_outbox(loop, results))
            runtime.outbox.recover()
            outbox_task = asyncio.create_task(self._outbox_loop(), name="outbox")
            if endpoints:
                # Retried and given up on as the outbox does, at the same times.
                worker = WebhookWorker(
                    runtime.engine,
                    endpoints,
                    runtime.clock.now,
                    retry=runtime.outbox.retry,
                    lease=runtime.outbox.lease,
                    on_outcome=metrics.webhook_attempt,
                )
                webhooks = self.webhooks = WebhookRunner(
                    worker,
                    interval=self.config.outbound.flush_interval,
                    gather=self._outbox_gather,
                ).start()
                runtime.on_commit(lambda _results: webhooks.wake())
            self.scheduler = Scheduler(
                runtime,
                on_mail_queued=lambda: loop.call_soon_threadsafe(self._outbox_wake.set),
                web_url=self.web_url,
                on_sla_run=lambda run: metrics.sla_fired(run.sweep.warnings, run.sweep.breaches),
            ).start()
            try:
                await self._start_listeners(runtime)
                if self.config.web.listen:
                    self.web = await start_web(self.config, runtime, metrics=metrics.exposition)
                self._start_pollers(runtime)
                yield self
            finally:
                if self.web is not None:
                    await self.web.stop()
                # A sweep in progress finishes first: it still uses the database.
                await asyncio.to_thread(self.scheduler.shutdown)
                await self._stop_listeners()
                await asyncio.to_thread(self._stop_pollers)
                runtime.writer.stop()
                # Let a flush in progress finish: its thread still uses the database.
                self._outbox_stopping = True
                runtime.outbox.stop()
                self._outbox_wake.set()
                await outbox_task
                if self.webhooks is not None:
                    await self.webhooks.stop()

    def _metrics(self, runtime: Runtime) -> Metrics:
        """The metrics of this service: a counter at 0 for each source it runs."""
        smtp = self.config.smtp
        sources = [
            name for name, listen in (("smtp", smtp.listen), ("lmtp", smtp.lmtp_listen)) if listen
        ]
        if self.config.imap:
            sources.append("imap")
        return Metrics(
            sources=sources,
            levels=database_levels(runtime.engine),
            webhooks=[hook.name for hook in self.config.webhooks],
        )

    def web_url(self) -> str:
        """Where links to the web listener point: ``[web] public_url``, else the address
        it listens on (with the port it got, for ``:0``)."""
        web = self.config.web
        if web.public_url or self.web is None:
            return web.base_url
        host = web.listen.rpartition(":")[0]
        return f"http://{host}:{self.web.port}"

    def run_sla_sweep(self) -> SlaRun:
        """Run the SLA sweep and auto-close now, at the clock's time (tests advance a
        ``ManualClock`` and call this instead of waiting for the scheduler)."""
        assert self.scheduler is not None, "the service is not running"
        return self.scheduler.run_sla_jobs()

    def flush_outbox(self) -> FlushReport:
        """Send what the outbox holds due now, and return once it is sent (or retried, or
        dead). Safe from any thread: a flush the worker has in progress finishes first, so
        nothing due is still on its way to the relay when this returns. (Two flushes could
        not send a row twice anyway: a claim leases its rows.)"""
        assert self.runtime is not None, "the service is not running"
        with self._flush_lock:
            return self.runtime.outbox.flush()

    def flush_webhooks(self) -> WebhookReport:
        """Send the webhook deliveries due now, and return once each was delivered, failed
        or given up. Safe from any thread; a flush in progress finishes first."""
        assert self.webhooks is not None, "no webhooks are configured"
        return self.webhooks.flush_threadsafe()

    async def serve_forever(self, systemd: SdNotify | None = None) -> None:
        """Run until SIGTERM/SIGINT, reloading on SIGHUP; tell ``systemd`` (default: the
        one ``$NOTIFY_SOCKET`` names, if any) how it goes."""
        loop = asyncio.get_running_loop()
        systemd = systemd or SdNotify.from_environment()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        watchdog = asyncio.create_task(pet_watchdog(systemd, self._healthy), name="watchdog")
        try:
            async with self.running():
                sources = [f"{n} on port {lst.port}" for n, lst in self.listeners.items()]
                sources.extend(f"imap {poller.name}" for poller in self.pollers)
                if self.web is not None:
                    sources.append(f"web on port {self.web.port}")
                status = f"STATUS=serving: {', '.join(sources) or 'no listeners'}"
                reloads = asyncio.create_task(self._reload_loop(systemd, status), name="reload")
                log.info("maild serving: %s", ", ".join(sources) or "no listeners")
                systemd.send("READY=1", status)
                await self._stop.wait()
                systemd.send("STOPPING=1", "STATUS=stopping: finishing messages in flight")
                log.info("stopping: no new connections, finishing messages in flight")
                self._reload_wanted.set()
                await reloads  # a reload in progress finishes before the shutdown
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        log.info("maild stopped")

    def _healthy(self) -> bool:
        """Whether the watchdog is petted: not once the intake writer has died (every
        message would get 451 until a restart), unless the daemon is stopping anyway."""
        runtime = self.runtime
        return runtime is None or runtime.writer.alive or self._stop.is_set()

    async def _reload_loop(self, systemd: SdNotify, status: str) -> None:
        """One reload per wake (several SIGHUPs during a reload make one more), until the
        service stops."""
        while True:
            await self._reload_wanted.wait()
            self._reload_wanted.clear()
            if self._stop.is_set():
                return
            systemd.send(*reloading(), "STATUS=reloading rules, templates, knowledge base")
            try:
                await asyncio.to_thread(self.reload)
            except Exception:
                log.exception("reload failed; what was in force stays")
            systemd.send("READY=1", status)

    async def _start_listeners(self, runtime: Runtime) -> None:
        smtp = self.config.smtp
        for name, listen, lmtp in (("smtp", smtp.listen, False), ("lmtp", smtp.lmtp_listen, True)):
            if not listen:
                continue
            self.listeners[name] = await start_listener(
                name,
                listen,
                IntakeHandler(runtime.intake, lmtp=lmtp),
                lmtp=lmtp,
                hostname=smtp.hostname,
                max_message_size=smtp.max_message_size,
                line_length_limit=smtp.line_length_limit,
                limits=self.limits,
            )

    def _start_pollers(self, runtime: Runtime) -> None:
        """One thread per ``[[imap]]`` account (imapclient is blocking)."""
        boxes = {box.address: box for box in self.config.mailboxes}
        for account in self.config.imap:
            poller = ImapPoller(
                account, boxes[account.mailbox], runtime.intake, runtime.engine, runtime.clock
            )
            self.pollers.append(poller.start())

    def _stop_pollers(self) -> None:
        for poller in self.pollers:
            poller.request_stop()
        for poller in self.pollers:
            poller.stop(DRAIN_TIMEOUT)

    async def _stop_listeners(self) -> None:
        for listener in self.listeners.values():
            listener.server.close()
        for listener in self.listeners.values():
            try:
                await asyncio.wait_for(listener.handler.idle.wait(), DRAIN_TIMEOUT)
            except TimeoutError:
                log.warning("%s: messages still in flight after %ss", listener.name, DRAIN_TIMEOUT)
            listener.close_sessions()

    def _wake_outbox(self, loop: asyncio.AbstractEventLoop, results: list[DeliveryResult]) -> None:
        if any(result.outcome is Outcome.NEW_TICKET for result in results):
            loop.call_soon_threadsafe(self._outbox_wake.set)

    async def _outbox_loop(self) -> None:
        interval = self.config.outbound.flush_interval
        while not self._outbox_stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox_wake.wait(), interval)
                if not self._outbox_stopping and self._outbox_gather:
                    await asyncio.sleep(self._outbox_gather)
            self._outbox_wake.clear()
            if self._outbox_stopping:
                return
            try:
                await asyncio.to_thread(self.flush_outbox)
            except Exception:
                log.exception("outbox flush failed; will try again")
