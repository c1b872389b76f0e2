"""Shared output helpers for the CLI: JSON-safe values and rich tables."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


def print_table(
    title: str, columns: list[str], rows: list[list[Any]], *, width: int | None = None
) -> None:
    """A table for a terminal; ``width`` caps it (long cells are cut with an ellipsis)."""
    from rich.console import Console  # rich costs a start-up that `tickets show` never needs
    from rich.table import Table

    cells = [["" if cell is None else str(cell) for cell in row] for row in rows]
    natural = [
        max([len(column), *(len(row[i]) for row in cells)]) for i, column in enumerate(columns)
    ]
    flexible = [i for i, size in enumerate(natural) if width is not None and size > _SHORT]
    room: dict[int, int] = {}
    if width is not None and flexible:
        # Borders take 3 characters a column and one more; short columns stay whole, the
        # long ones (addresses, subjects) share the rest and are cut with an ellipsis.
        fixed = sum(size for i, size in enumerate(natural) if i not in flexible)
        left = max(width - 3 * len(columns) - 1 - fixed, 8 * len(flexible))
        wanted = sum(natural[i] for i in flexible)
        room = {i: max(8, natural[i] * left // wanted) for i in flexible}
    table = Table(title=title)
    for index, column in enumerate(columns):
        if index in room:
            table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=room[index])
        else:
            table.add_column(column, no_wrap=width is not None)
    for row in cells:
        table.add_row(*row)
    Console(width=width).print(table)


_SHORT = 12
