"""The rules in force, swapped whole when the rules file changes.

A running daemon checks the rules file's modification time every few seconds. An edit that
loads replaces the rules for the next message and the next sweep; an edit that does not is
logged and reported to the admins, and the rules that were running keep running (a broken
file never leaves maild without rules, or with half of them).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from maild.config import Config, ConfigError, reload_policy
from rules.config import RulesConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What a check found: ``changed`` with the new rules in force, or ``error`` when the
    file changed but does not load."""

    changed: bool
    error: str | None = None


class PolicyHolder:
    """Holds the current :class:`RulesConfig`; readers take ``current`` once per message or
    sweep and work with that value, so a reload never changes the rules under them."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._current = config.policy
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()

    @property
    def current(self) -> RulesConfig:
        return self._current

    @property
    def config(self) -> Config:
        """The configuration with the rules in force."""
        return self._config.with_policy(self._current)

    def _file_stamp(self) -> tuple[int, int] | None:
        path = self._config.maild.rules_file
        if path is None:
            return None
        try:
            info = os.stat(path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def check(self) -> ReloadOutcome:
        """Reload when the rules file changed since the last check."""
        if self._config.maild.rules_file is None:
            return ReloadOutcome(False)
        with self._lock:
            stamp = self._file_stamp()
            if stamp == self._stamp:
                return ReloadOutcome(False)
            self._stamp = stamp
            try:
                policy = reload_policy(self._config)
            except ConfigError as error:
                log.error("rules not reloaded, the previous rules stay in force: %s", error)
                return ReloadOutcome(False, str(error))
            self._current = policy
            log.info(
                "rules reloaded from %s: %d rules, %d agents",
                self._config.maild.rules_file,
                len(policy.rules),
                len(policy.agents),
            )
            return ReloadOutcome(True)
