"""Scheduled report mails (``[[reports]]``), sent by the scheduler inside ``maild serve``.

A run reports on the last complete period (yesterday for ``daily 06:00``) and charts the
days around it (at least :data:`CHART_DAYS`, so a daily report still shows a trend). The
figures and charts are worked out before any write; then one short transaction claims the
period (the unique ``report_runs`` row: a second instance on the same database, or a
restarted one, sends nothing) and queues one mail per recipient through the one composer
(kind ``report``): HTML with the charts as inline PNG images, and a plain-text part with
the same numbers as tables.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from maild.config import Config, ReportSection
from maild.reports.figures import Report, build_report
from maild.reports.period import Period, last_complete
from maild.reports.render import blocks, heading, text
from maild.ticketing.mail import queue
from outbound.compose import OutgoingAttachment
from outbound.templating import TemplateRenderer
from outbound.ticketmail import TicketMail
from storage.engine import writer_engine
from storage.reports import claim_report_run

if TYPE_CHECKING:
    from maild.reports.charts import Chart

log = logging.getLogger(__name__)

KIND = "report"
CHART_DAYS = 14
CONTENT_ID_DOMAIN = "report.maild"


@dataclass(frozen=True, slots=True)
class ReportSent:
    name: str
    period: Period
    sent_to: tuple[str, ...] = ()
    already_sent: bool = False


class ReportMailer:
    """Builds and queues the ``[[reports]]`` of ``config``."""

    def __init__(self, engine: Engine, config: Config, renderer: TemplateRenderer) -> None:
        self._engine = engine
        self._writer = writer_engine(engine)
        self._config = config
        self._renderer = renderer

    def period_of(self, report: ReportSection, now: datetime) -> Period:
        return last_complete(report.report_period, now, self._config.policy.sla.timezone)

    def send(self, name: str, now: datetime) -> ReportSent:
        """Queue report ``name`` for the last complete period before ``now``, unless it was
        sent for that period already."""
        report = next(entry for entry in self._config.reports if entry.name == name)
        period = self.period_of(report, now)
        built, charts = self._build(report, period)
        mail = self._render(report, built, charts)
        sent: list[str] = []
        with self._writer.begin() as connection:
            if not claim_report_run(connection, name, period.since, now):
                log.info("report %s for %s was sent already", name, period.label)
                return ReportSent(name, period, already_sent=True)
            for recipient in report.recipients:
                queued = queue(
                    connection, self._config, replace(mail, recipients=[("", recipient)]), now
                )
                if queued.reason is not None:
                    log.warning("report %s not sent to %s: %s", name, recipient, queued.reason)
                sent.extend(queued.sent_to)
        log.info("report %s for %s queued for %s", name, period.label, ", ".join(sent) or "nobody")
        return ReportSent(name, period, tuple(sent))

    def _build(self, report: ReportSection, period: Period) -> tuple[Report, list[Chart]]:
        from maild.reports.charts import charts_for  # matplotlib: only when a report is due

        config = self._config
        priorities = config.maild.priorities
        with self._engine.connect() as connection:
            built = build_report(connection, config.policy, period, None, priorities)
            window = period.widened(CHART_DAYS)
            trend = (
                built
                if window == period
                else build_report(connection, config.policy, window, None, priorities)
            )
        return built, charts_for(trend, report.sections)

    def _render(self, report: ReportSection, built: Report, charts: list[Chart]) -> TicketMail:
        """The mail, without recipients yet."""
        sender = self._config.mailboxes[0]
        images = {chart.section: chart for chart in charts}
        title = heading(built, f"Report {report.name}")
        rendered = self._renderer.render(
            "report",
            {
                "title": title,
                "report_name": report.name,
                "schedule": report.schedule,
                "mailbox_name": sender.name,
                "report_text": text(built, report.sections, f"Report {report.name}"),
                "chart_days": CHART_DAYS,
                "blocks": [
                    {
                        "title": block.title,
                        "notes": block.notes,
                        "columns": block.columns,
                        "rows": block.rows,
                        "left": block.left,
                        "chart": _image(images.get(block.section)),
                    }
                    for block in blocks(built, report.sections)
                ],
            },
        )
        return TicketMail(
            kind=KIND,
            ticket=None,
            recipients=(),
            from_name=f"maild ({sender.name})",
            from_address=sender.address,
            subject=title,
            text=rendered.text,
            html=rendered.html,
            attachments=tuple(
                OutgoingAttachment(f"{chart.name}.png", "image/png", chart.png, _cid(chart))
                for chart in charts
            ),
        )


def _cid(chart: Chart) -> str:
    return f"{chart.name}@{CONTENT_ID_DOMAIN}"


def _image(chart: Chart | None) -> dict[str, str] | None:
    return None if chart is None else {"cid": _cid(chart), "alt": chart.title}
