"""A report as words and numbers: plain-text tables (the console, and the text part of a
report mail, which must say everything its charts show), JSON and CSV.

Times read as people say them: wall time in days, hours and minutes; business time in hours
marked ``business`` (72 h of business time are nine working days, not three).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from maild.report_schedule import SECTIONS
from maild.reports.figures import (
    AgentRow,
    Compliance,
    Durations,
    Figures,
    Report,
    Satisfaction,
)


def wall(delta: timedelta | None) -> str:
    """``2 d 3 h``, ``1 h 15 min``, ``5 min``; ``-`` for nothing to measure."""
    if delta is None:
        return "-"
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    if minutes or not (days or hours):
        parts.append(f"{minutes} min")
    return " ".join(part for part in parts if part)


def business(delta: timedelta | None) -> str:
    """``26 h 30 min`` of business time: hours, never days."""
    if delta is None:
        return "-"
    hours, minutes = divmod(int(delta.total_seconds() // 60), 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def compliance(value: Compliance) -> str:
    if not value.total:
        return "-"
    return f"{percent(value.share)} ({value.met} of {value.total})"


def satisfaction(value: Satisfaction) -> str:
    if not value.responses:
        return "-"
    average = "" if value.average is None else f", average {value.average:.1f}"
    noun = "rating" if value.responses == 1 else "ratings"
    return f"{percent(value.share)} satisfied of {value.responses} {noun}{average}"


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], right: int = 1) -> list[str]:
    """A plain table: the first ``right`` columns left-aligned, numbers right-aligned."""
    widths = [max(len(str(c)) for c in column) for column in zip(columns, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [
            cell.ljust(width) if index < right else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    lines = [line(columns), line(["-" * width for width in widths]), *(line(r) for r in rows)]
    return ["  " + text for text in lines]


@dataclass(frozen=True, slots=True)
class Block:
    """One section of a report as words: a title, lines of prose, and a table. The text
    report and the HTML mail show the same blocks, so they say the same numbers."""

    section: str
    title: str
    notes: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    left: int = 1  # how many leading columns are words (left-aligned)


def _tickets(figures: Figures) -> Block:
    rows = (
        ("created", str(figures.created)),
        ("resolved", str(figures.resolved)),
        ("closed", str(figures.closed)),
        ("reopened", str(figures.reopened)),
        ("backlog at the end", str(figures.backlog)),
    )
    return Block("tickets", "Tickets", (), ("", "tickets"), rows)


def _durations_row(name: str, clock: str, value: Durations, fmt: Any) -> tuple[str, ...]:
    return (name, clock, fmt(value.median), fmt(value.p90), str(value.count))


def _times(figures: Figures) -> Block:
    rows = (
        _durations_row("first response", "business", figures.first_response.business, business),
        _durations_row("", "wall", figures.first_response.wall, wall),
        _durations_row("resolution", "business", figures.resolution.business, business),
        _durations_row("", "wall", figures.resolution.wall, wall),
    )
    columns = ("", "", "median", "90th percentile", "tickets")
    return Block("times", "Times", (), columns, rows, left=2)


def _sla(report: Report) -> Block:
    figures = report.overall
    notes = (
        f"First-response targets met: {compliance(figures.first_response_sla)}",
        f"Resolution targets met: {compliance(figures.resolution_sla)}",
        f"Breaches: {figures.breaches}",
    )
    rows = tuple(
        (row.priority, compliance(row.first_response), compliance(row.resolution))
        for row in report.sla_by_priority
    )
    columns = ("priority", "first response met", "resolution met") if rows else ()
    return Block("sla", "SLA", notes, columns, rows)


def _satisfaction(figures: Figures) -> Block:
    value = figures.satisfaction
    if not value.responses:
        return Block("satisfaction", "Satisfaction", ("No ratings in this period.",))
    average = "-" if value.average is None else f"{value.average:.1f}"
    rows = ((str(value.responses), percent(value.share), average),)
    columns = ("ratings", "satisfied", "average (1-5)")
    return Block("satisfaction", "Satisfaction", (), columns, rows, left=0)


def _agents(agents: Sequence[AgentRow]) -> Block:
    if not agents:
        return Block("agents", "Agents", ("No agent work in this period.",))
    rows = tuple(
        (
            row.agent,
            str(row.assigned),
            str(row.resolved),
            business(row.first_response_median),
            percent(row.satisfaction.share) if row.satisfaction.responses else "-",
            str(row.satisfaction.responses),
        )
        for row in agents
    )
    columns = ("agent", "assigned", "resolved", "median first response", "satisfied", "ratings")
    return Block("agents", "Agents", (), columns, rows)


def _groups(report: Report) -> Block:
    rows = tuple(
        (
            name,
            str(figures.created),
            str(figures.resolved),
            str(figures.backlog),
            business(figures.first_response.business.median),
            business(figures.resolution.business.median),
            percent(figures.first_response_sla.share),
            percent(figures.resolution_sla.share),
            percent(figures.satisfaction.share),
        )
        for name, figures in report.groups
    )
    columns = (
        report.by or "",
        "created",
        "resolved",
        "backlog",
        "first response",
        "resolution",
        "FR met",
        "res. met",
        "satisfied",
    )
    return Block("groups", f"By {report.by} (medians in business time)", (), columns, rows)


def blocks(report: Report, sections: Sequence[str] = SECTIONS) -> list[Block]:
    """The report's ``sections`` in the order of :data:`SECTIONS`, then the ``--by`` table."""
    figures = report.overall
    makers = {
        "tickets": lambda: _tickets(figures),
        "times": lambda: _times(figures),
        "sla": lambda: _sla(report),
        "satisfaction": lambda: _satisfaction(figures),
        "agents": lambda: _agents(report.agents),
    }
    found = [makers[name]() for name in SECTIONS if name in set(sections)]
    if report.groups:
        found.append(_groups(report))
    return found


def heading(report: Report, title: str = "Report") -> str:
    period = report.period
    kind = "" if period.kind == "custom" else f"{period.kind}, "
    return f"{title}: {period.label} ({kind}{period.timezone})"


def text(report: Report, sections: Sequence[str] = SECTIONS, title: str = "Report") -> str:
    """The report as plain-text tables."""
    parts = [heading(report, title)]
    for block in blocks(report, sections):
        lines = [block.title, *(f"  {note}" for note in block.notes)]
        if block.columns:
            if block.notes:
                lines.append("")
            lines += table(block.columns, block.rows, right=block.left)
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


# -- machine-readable ------------------------------------------------------------------------


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


def _durations(value: Durations) -> dict[str, Any]:
    return {
        "count": value.count,
        "median_seconds": _seconds(value.median),
        "p90_seconds": _seconds(value.p90),
    }


def _compliance(value: Compliance) -> dict[str, Any]:
    return {"met": value.met, "total": value.total, "share": value.share}


def _satisfaction_json(value: Satisfaction) -> dict[str, Any]:
    return {
        "responses": value.responses,
        "satisfied": value.satisfied,
        "share_satisfied": value.share,
        "average": value.average,
    }


def figures_json(figures: Figures) -> dict[str, Any]:
    return {
        "created": figures.created,
        "resolved": figures.resolved,
        "closed": figures.closed,
        "reopened": figures.reopened,
        "backlog": figures.backlog,
        "first_response": {
            "business": _durations(figures.first_response.business),
            "wall": _durations(figures.first_response.wall),
        },
        "resolution": {
            "business": _durations(figures.resolution.business),
            "wall": _durations(figures.resolution.wall),
        },
        "sla": {
            "first_response": _compliance(figures.first_response_sla),
            "resolution": _compliance(figures.resolution_sla),
            "breaches": figures.breaches,
        },
        "satisfaction": _satisfaction_json(figures.satisfaction),
    }


def as_json(report: Report) -> dict[str, Any]:
    period = report.period
    return {
        "period": {
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "kind": period.kind,
            "timezone": period.timezone,
        },
        "overall": figures_json(report.overall),
        "by": report.by,
        "groups": {name: figures_json(figures) for name, figures in report.groups},
        "agents": [
            {
                "agent": row.agent,
                "assigned": row.assigned,
                "resolved": row.resolved,
                "first_response_median_business_seconds": _seconds(row.first_response_median),
                "satisfaction": _satisfaction_json(row.satisfaction),
            }
            for row in report.agents
        ],
        "sla_by_priority": [
            {
                "priority": row.priority,
                "first_response": _compliance(row.first_response),
                "resolution": _compliance(row.resolution),
            }
            for row in report.sla_by_priority
        ],
        "days": [
            {
                "day": day.day.isoformat(),
                "created": day.created,
                "resolved": day.resolved,
                "satisfaction": _satisfaction_json(day.satisfaction),
            }
            for day in report.days
        ],
    }


CSV_COLUMNS = (
    "group",
    "created",
    "resolved",
    "closed",
    "reopened",
    "backlog",
    "first_response_median_business_s",
    "first_response_p90_business_s",
    "first_response_median_wall_s",
    "first_response_p90_wall_s",
    "resolution_median_business_s",
    "resolution_p90_business_s",
    "resolution_median_wall_s",
    "resolution_p90_wall_s",
    "first_response_sla_met",
    "first_response_sla_total",
    "resolution_sla_met",
    "resolution_sla_total",
    "breaches",
    "csat_responses",
    "csat_satisfied",
    "csat_average",
)


def _csv_row(name: str, figures: Figures) -> list[Any]:
    fr, res = figures.first_response, figures.resolution
    average = figures.satisfaction.average
    return [
        name,
        figures.created,
        figures.resolved,
        figures.closed,
        figures.reopened,
        figures.backlog,
        _seconds(fr.business.median),
        _seconds(fr.business.p90),
        _seconds(fr.wall.median),
        _seconds(fr.wall.p90),
        _seconds(res.business.median),
        _seconds(res.business.p90),
        _seconds(res.wall.median),
        _seconds(res.wall.p90),
        figures.first_response_sla.met,
        figures.first_response_sla.total,
        figures.resolution_sla.met,
        figures.resolution_sla.total,
        figures.breaches,
        figures.satisfaction.responses,
        figures.satisfaction.satisfied,
        None if average is None else round(average, 3),
    ]


def as_csv(report: Report) -> str:
    """One row for the whole period (group ``all``), then one per group of ``--by``;
    times in seconds, empty when there was nothing to measure."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(_csv_row("all", report.overall))
    for name, figures in report.groups:
        writer.writerow(_csv_row(name, figures))
    return out.getvalue()
