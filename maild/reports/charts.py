"""The charts of a report mail, as PNG images a support lead could put on a slide.

Drawn with matplotlib's ``Figure`` and the Agg canvas directly, never ``pyplot``: pyplot
keeps every figure in a process-wide registry (global state, and a leak in a daemon) and
may pick a GUI backend. matplotlib is imported here only, and only when a report mail is
composed: the daemon and the console do not pay its start-up otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from maild.reports.figures import Report

# Colour-blind safe (Okabe-Ito), muted enough for a slide.
BLUE, GREEN, ORANGE, GREY, RED = "#0072B2", "#009E73", "#E69F00", "#9A9A9A", "#D55E00"
WIDTH, HEIGHT, DPI = 7.2, 3.0, 150  # 1080 x 450 pixels, shown 600 wide in the mail

FIRST_RESPONSE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 h", 1),
    ("1-2 h", 2),
    ("2-4 h", 4),
    ("4-8 h", 8),
    ("8-24 h", 24),
    ("> 24 h", float("inf")),
)
"""Business hours; a first response falls in the first bucket whose bound it is below."""


@dataclass(frozen=True, slots=True)
class Chart:
    name: str  # also the file name and Content-ID's first part
    title: str  # the alt text
    png: bytes
    section: str = ""  # the report section it illustrates


def _figure(title: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, fontweight="bold", color="#222222")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.spines["left"].set_color("#BBBBBB")
    axes.spines["bottom"].set_color("#BBBBBB")
    axes.tick_params(colors="#444444", labelsize=9)
    axes.grid(axis="y", color="#E5E5E5", linewidth=0.8)
    axes.set_axisbelow(True)
    return figure, axes


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _nothing(axes: object, message: str) -> None:
    axes.text(  # type: ignore[attr-defined]
        0.5,
        0.5,
        message,
        ha="center",
        va="center",
        color=GREY,
        transform=axes.transAxes,  # type: ignore[attr-defined]
    )
    axes.set_xticks([])  # type: ignore[attr-defined]
    axes.set_yticks([])  # type: ignore[attr-defined]


def _day_labels(report: Report) -> list[str]:
    """Every day's name for a week; beyond, every few days' date, so labels never touch."""
    days = [day.day for day in report.days]
    if len(days) <= 8:
        return [f"{day:%a %d}" for day in days]
    every = -(-len(days) // 8)
    return [f"{day:%d %b}" if n % every == 0 else "" for n, day in enumerate(days)]


def created_resolved(report: Report) -> Chart:
    title = "Tickets created and resolved per day"
    figure, axes = _figure(title)
    positions = range(len(report.days))
    created = [day.created for day in report.days]
    resolved = [day.resolved for day in report.days]
    axes.bar([p - 0.2 for p in positions], created, 0.4, color=BLUE, label="created")
    axes.bar([p + 0.2 for p in positions], resolved, 0.4, color=GREEN, label="resolved")
    axes.set_xticks(list(positions), _day_labels(report))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(frameon=False, fontsize=9, loc="upper left", ncols=2)
    axes.set_ylim(0, max([*created, *resolved, 1]) * 1.25)
    return Chart("created-resolved", title, _png(figure))


def first_response_distribution(report: Report) -> Chart:
    title = "Time to first response (business hours)"
    figure, axes = _figure(title)
    counts = [0] * len(FIRST_RESPONSE_BUCKETS)
    for hours in report.first_response_hours:
        for index, (_, bound) in enumerate(FIRST_RESPONSE_BUCKETS):
            if hours < bound:
                counts[index] += 1
                break
    if not report.first_response_hours:
        _nothing(axes, "No first responses in this period")
    else:
        labels = [label for label, _ in FIRST_RESPONSE_BUCKETS]
        bars = axes.bar(labels, counts, 0.6, color=BLUE)
        axes.bar_label(bars, fmt="%d", fontsize=9, color="#444444", padding=2)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max(counts) * 1.2)
        axes.set_ylabel("tickets", fontsize=9, color="#444444")
    return Chart("first-response", title, _png(figure))


def sla_by_priority(report: Report) -> Chart:
    title = "SLA targets met, by priority"
    figure, axes = _figure(title)
    rows = report.sla_by_priority
    if not rows:
        _nothing(axes, "No SLA targets came due in this period")
        return Chart("sla", title, _png(figure))
    names = [row.priority for row in rows]
    positions = range(len(rows))
    for offset, colour, label, values in (
        (-0.16, BLUE, "first response", [row.first_response for row in rows]),
        (0.16, GREEN, "resolution", [row.resolution for row in rows]),
    ):
        shares = [value.share or 0.0 for value in values]
        bars = axes.bar([p + offset for p in positions], shares, 0.3, color=colour, label=label)
        axes.bar_label(
            bars,
            labels=[f"{v.met}/{v.total}" if v.total else "" for v in values],
            fontsize=8,
            color="#444444",
            padding=2,
        )
    axes.set_xticks(list(positions), names)
    axes.set_xlim(-0.6, max(len(rows), 3) - 0.4)
    axes.set_ylim(0, 1.18)
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    axes.legend(frameon=False, fontsize=9, loc="upper right", ncols=2, bbox_to_anchor=(1, 1.16))
    return Chart("sla", title, _png(figure))


def satisfaction_over_time(report: Report) -> Chart:
    title = "Ratings per day"
    figure, axes = _figure(title)
    days = report.days
    if not any(day.satisfaction.responses for day in days):
        _nothing(axes, "No ratings in this period")
        return Chart("satisfaction", title, _png(figure))
    positions = list(range(len(days)))
    satisfied = [day.satisfaction.satisfied for day in days]
    others = [day.satisfaction.responses - day.satisfaction.satisfied for day in days]
    axes.bar(positions, satisfied, 0.6, color=GREEN, label="satisfied")
    axes.bar(positions, others, 0.6, bottom=satisfied, color=RED, label="not satisfied")
    axes.set_xticks(positions, _day_labels(report))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    top = max(s + o for s, o in zip(satisfied, others, strict=True))
    axes.set_ylim(0, top * 1.3)
    overall = report.overall.satisfaction
    summary = (
        f"{overall.share:.0%} satisfied of {overall.responses}" if overall.share is not None else ""
    )
    axes.legend(
        frameon=False,
        fontsize=9,
        loc="upper left",
        ncols=2,
        title=summary,
        title_fontsize=9,
        alignment="left",
    )
    return Chart("satisfaction", title, _png(figure))


CHARTS = {
    "tickets": (created_resolved,),
    "times": (first_response_distribution,),
    "sla": (sla_by_priority,),
    "satisfaction": (satisfaction_over_time,),
}
"""The charts each report section shows."""


def charts_for(report: Report, sections: Sequence[str]) -> list[Chart]:
    """The charts of ``sections`` (see :data:`CHARTS`), drawn over ``report``'s days."""
    return [
        replace(draw(report), section=section)
        for section in sections
        for draw in CHARTS.get(section, ())
    ]
