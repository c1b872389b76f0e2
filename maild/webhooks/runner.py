"""The webhook worker of ``maild serve``: a task on the daemon's event loop.

It sends what is due when a commit wakes it (after a short gathering pause, so that under
load one flush sends many deliveries), every ``[outbound] flush_interval`` seconds for what
other paths queued (the SLA sweep, the console), and once at start for what an earlier run
left undelivered. One flush runs at a time; a test asks for one with :meth:`flush_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from outbound.webhooks import WebhookReport, WebhookWorker

log = logging.getLogger(__name__)

STOP_TIMEOUT = 15.0
"""Seconds a stop waits for the requests in flight; then they are cut, and their rows go
out again once their lease runs out (delivery is at least once)."""


class WebhookRunner:
    """Runs ``worker`` on the running loop: :meth:`start`, :meth:`wake` after a commit,
    :meth:`stop` at shutdown."""

    def __init__(self, worker: WebhookWorker, *, interval: float, gather: float = 0.0) -> None:
        self._worker = worker
        self._interval = interval
        self._gather = gather
        self._wake = asyncio.Event()
        self._stopped = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> WebhookRunner:
        """Start the task on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="webhooks")
        return self

    def wake(self) -> None:
        """Ask for a flush soon; safe from any thread (the writer's, after a commit)."""
        if self._loop is not None and not self._stopping:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def flush(self) -> WebhookReport:
        """Send what is due now; a flush in progress finishes first."""
        async with self._lock:
            return await self._worker.flush(stopping=lambda: self._stopping)

    def flush_threadsafe(self, timeout: float | None = None) -> WebhookReport:
        """:meth:`flush` from another thread, returning when it is done."""
        assert self._loop is not None, "the runner is not started"
        return asyncio.run_coroutine_threadsafe(self.flush(), self._loop).result(timeout)

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, STOP_TIMEOUT)
            except TimeoutError:
                log.warning("webhooks: requests still in flight after %ss, cut", STOP_TIMEOUT)
        await self._worker.aclose()

    async def _run(self) -> None:
        await self._flush_logged()  # what an earlier run left
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            if self._gather and not self._stopping:
                with contextlib.suppress(TimeoutError):  # a stop cuts the pause short
                    await asyncio.wait_for(self._stopped.wait(), self._gather)
            self._wake.clear()
            if self._stopping:
                return
            await self._flush_logged()

    async def _flush_logged(self) -> None:
        try:
            await self.flush()
        except Exception:
            log.exception("webhook flush failed; will try again")
