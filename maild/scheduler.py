"""The periodic jobs inside ``maild serve``, run by APScheduler: the SLA sweep with
auto-close, the satisfaction surveys due and the ``ticket.idle`` rules every ``[scheduler]
sla_interval``, the rules-file and ``[kb] dir`` checks every ``reload_interval``, and each
``[[reports]]`` at its schedule (in ``[sla] timezone``; a run missed while the daemon was
down is not caught up: ``maild report`` prints that period).

Every job reads the time from the injected clock (``Runtime.clock``); APScheduler only
decides *when* a job runs. Each job runs in the scheduler's thread pool, never overlaps
itself (``max_instances=1``), and runs once after a delay rather than catching up on every
missed run (``coalesce``). :meth:`Scheduler.run_sla_jobs` runs the SLA jobs now, for tests
(with a ``ManualClock``) and for ``maild sla sweep`` from cron; a lock keeps it from
running alongside the scheduled run.

The outbox flush is not an APScheduler job: ``Service`` keeps its asyncio loop, which flushes
every ``[outbound] flush_interval`` *and* wakes early when a commit queued mail (intake,
or a sweep here through ``on_mail_queued``). A wake that arrives during a flush must cause
another flush; an APScheduler job with ``max_instances=1`` would drop it instead.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from maild.automation.reload import check_rules
from maild.csat.links import load_secret
from maild.csat.surveys import SurveyRun, SurveySender
from maild.report_schedule import parse_schedule
from maild.reports.scheduled import ReportMailer, ReportSent
from maild.sla import AutoClose, AutoCloseReport, IdleReport, IdleSweep, SlaSweep, SweepReport

if TYPE_CHECKING:
    from maild.runtime import Runtime

log = logging.getLogger(__name__)
# APScheduler logs every run at INFO ("Running job …", "… executed successfully"): with a
# rules check every few seconds that would drown the daemon's own log.
logging.getLogger("apscheduler").setLevel(logging.WARNING)

SLA_JOB = "sla"
RULES_JOB = "rules-reload"
REPORT_JOB_PREFIX = "report:"


@dataclass(frozen=True, slots=True)
class SlaRun:
    sweep: SweepReport
    auto_close: AutoCloseReport
    surveys: SurveyRun = field(default_factory=SurveyRun)
    idle: IdleReport = field(default_factory=IdleReport)

    @property
    def queued_mail(self) -> bool:
        return bool(
            self.sweep.fired or self.auto_close.warned or self.surveys.sent or self.idle.fired
        )


def sla_jobs(runtime: Runtime) -> tuple[SlaSweep, AutoClose]:
    """The SLA sweep and auto-close for ``runtime``; the rules in force are read per run."""
    sweep = SlaSweep(runtime.engine, runtime.notifier, lambda: runtime.policy.current)
    return sweep, AutoClose(runtime.engine, runtime.config, runtime.renderer)


def idle_job(runtime: Runtime) -> IdleSweep:
    """The ``ticket.idle`` rules for ``runtime``; the rules in force are read per run."""
    return IdleSweep(runtime.engine, runtime.notifier, lambda: runtime.policy.current)


def survey_job(runtime: Runtime, web_url: Callable[[], str] | None = None) -> SurveySender:
    """The satisfaction surveys due for ``runtime`` (nothing while ``[csat]`` is off);
    ``web_url``: where the rating links point (default ``[web]``'s address)."""
    config = runtime.config
    secret = functools.cache(lambda: load_secret(config))
    return SurveySender(
        runtime.engine,
        config,
        runtime.renderer,
        secret,
        web_url or (lambda: config.web.base_url),
    )


class Scheduler:
    def __init__(
        self,
        runtime: Runtime,
        on_mail_queued: Callable[[], None] | None = None,
        web_url: Callable[[], str] | None = None,
        on_sla_run: Callable[[SlaRun], None] | None = None,
    ) -> None:
        self._runtime = runtime
        self._on_mail_queued = on_mail_queued
        self._on_sla_run = on_sla_run  # told of every run, scheduled or not (/metrics)
        self._sweep, self._auto_close = sla_jobs(runtime)
        self._surveys = survey_job(runtime, web_url)
        self._idle = idle_job(runtime)
        self._sla_lock = threading.Lock()
        self._scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        scheduler = runtime.config.scheduler
        self._scheduler.add_job(
            self._scheduled_sla, "interval", seconds=scheduler.sla_interval, id=SLA_JOB
        )
        self._scheduler.add_job(
            self.check_files, "interval", seconds=scheduler.reload_interval, id=RULES_JOB
        )
        self._reports = ReportMailer(runtime.engine, runtime.config, runtime.renderer)
        timezone = runtime.config.policy.sla.timezone
        for report in runtime.config.reports:
            fields = dict(parse_schedule(report.schedule).fields)
            self._scheduler.add_job(
                functools.partial(self._scheduled_report, report.name),
                CronTrigger(**fields, timezone=timezone),
                id=f"{REPORT_JOB_PREFIX}{report.name}",
            )

    def start(self) -> Scheduler:
        self._scheduler.start()
        for report in self._runtime.config.reports:
            upcoming = self.next_report_time(report.name)
            log.info(
                "report %s (%s) goes to %s next at %s",
                report.name,
                report.schedule,
                ", ".join(report.recipients),
                upcoming.isoformat() if upcoming else "-",
            )
        return self

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def shutdown(self) -> None:
        """Stop scheduling and wait for a job in progress: it still uses the database."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=True)

    def run_sla_jobs(self) -> SlaRun:
        """One SLA sweep, auto-close, survey and idle-rules pass at the clock's ``now``."""
        with self._sla_lock:
            now = self._runtime.clock.now()
            run = SlaRun(
                self._sweep.run(now),
                self._auto_close.run(now),
                self._surveys.run(now),
                self._idle.run(now),
            )
        if self._on_sla_run is not None:
            self._on_sla_run(run)
        if run.queued_mail and self._on_mail_queued is not None:
            self._on_mail_queued()
        return run

    def send_report(self, name: str) -> ReportSent:
        """Report ``name`` for the last complete period at the clock's ``now`` (what its
        schedule does; tests call it with a ``ManualClock``)."""
        sent = self._reports.send(name, self._runtime.clock.now())
        if sent.sent_to and self._on_mail_queued is not None:
            self._on_mail_queued()
        return sent

    def next_report_time(self, name: str) -> datetime | None:
        """When report ``name`` runs next (None before :meth:`start`)."""
        job = self._scheduler.get_job(f"{REPORT_JOB_PREFIX}{name}")
        return None if job is None else getattr(job, "next_run_time", None)

    def _scheduled_report(self, name: str) -> None:
        try:
            self.send_report(name)
        except Exception:
            log.exception("report %s failed; its next run tries again", name)

    def _scheduled_sla(self) -> None:
        try:
            self.run_sla_jobs()
        except Exception:
            log.exception("SLA sweep failed; the next one tries again")

    def check_files(self) -> None:
        """Reload the rules file and the knowledge base where they changed: every
        ``reload_interval``, and at once on SIGHUP (``Service.reload``). Safe from any
        thread; a failure is logged and what was in force stays."""
        try:
            check_rules(self._runtime)  # reloads a changed file, mails admins a bad one
        except Exception:
            log.exception("rules check failed; the rules in force stay")
        if self._runtime.kb is not None:
            try:
                self._runtime.kb.check()  # reloads the knowledge base's changed articles
            except Exception:
                log.exception("knowledge base check failed; the articles in force stay")
