"""Starts and stops the web listener on the daemon's event loop (aiohttp's AppRunner)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from maild.automation.rated import rated_rules
from maild.config import Config
from maild.csat.links import load_secret
from maild.receiver.server import split_listen
from maild.runtime import Runtime
from maild.web.app import RatingPages
from storage.engine import database_answers


@dataclass
class WebListener:
    runner: web.AppRunner
    site: web.TCPSite

    @property
    def port(self) -> int:
        """The port it listens on (the one the system chose for ``:0``)."""
        return int(self.runner.addresses[0][1])

    async def stop(self) -> None:
        await self.runner.cleanup()


def health(runtime: Runtime) -> str | None:
    """Why the daemon cannot take mail now, or None."""
    if not runtime.writer.alive:
        return "the intake writer has stopped"
    problem = database_answers(runtime.engine)
    return None if problem is None else f"the database does not answer: {problem}"


async def start_web(
    config: Config, runtime: Runtime, *, metrics: Callable[[], bytes] | None = None
) -> WebListener:
    """Serve the survey pages, ``/healthz`` and (given ``metrics``, which returns the
    exposition) ``/metrics`` on ``[web] listen``."""
    fire = rated_rules(runtime.notifier)
    pages = RatingPages(
        config,
        runtime.write_sessions,
        load_secret(config),
        runtime.clock.now,
        fire=lambda editor, rating: fire(editor, runtime.policy.current, rating),
        health=lambda: health(runtime),
        metrics=metrics,
    )
    runner = web.AppRunner(pages.app(), access_log=None)
    await runner.setup()
    host, port = split_listen(config.web.listen)
    site = web.TCPSite(runner, host, port)
    await site.start()
    return WebListener(runner, site)
