"""Reloads the rules file while the daemon runs, and tells the admins of a bad edit.

The scheduler calls :func:`check_rules` every ``[scheduler] reload_interval``. A file that
loads replaces the rules for the next message and sweep
(:class:`maild.automation.policy.PolicyHolder`); one that does not is logged there, and here
mailed to ``[maild] admins`` once per edit, through the outbox in a transaction of its own,
while the previous rules keep running.

It takes the parts of the running daemon it needs (:class:`RulesDaemon`, which
:class:`maild.runtime.Runtime` is), so this package does not import the runtime that
builds it.
"""

from __future__ import annotations

import logging
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from maild.automation.policy import PolicyHolder
from maild.clock import Clock
from maild.config import Config
from maild.ticketing.admin_mail import queue_admin_mail
from outbound.templating import TemplateRenderer

log = logging.getLogger(__name__)


class RulesDaemon(Protocol):
    """What checking the rules file needs of the running daemon."""

    @property
    def config(self) -> Config: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def policy(self) -> PolicyHolder: ...
    @property
    def renderer(self) -> TemplateRenderer: ...
    @property
    def write_sessions(self) -> sessionmaker[Session]: ...


SUBJECT = "[maild] the rules file does not load; the previous rules stay in force"


def check_rules(runtime: RulesDaemon) -> None:
    """Reload the rules when their file changed; report a bad edit to the admins."""
    outcome = runtime.policy.check()
    if outcome.error is None:
        return
    report_rules_error(runtime, outcome.error)


def report_rules_error(runtime: RulesDaemon, error: str) -> None:
    config = runtime.config
    now = runtime.clock.now()
    rendered = runtime.renderer.render(
        "rules_error",
        {
            "rules_file": str(config.maild.rules_file),
            "error": error,
            "checked_at": now.strftime("%Y-%m-%d %H:%M UTC"),
        },
    )
    with runtime.write_sessions.begin() as session:
        told = queue_admin_mail(
            session.connection(),
            config,
            subject=SUBJECT,
            body=rendered,
            now=now,
            about="rules error mail",
        )
    if told:
        log.info("rules error reported to %s", ", ".join(told))
