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


def print_table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console  # rich costs a start-up that `tickets show` never needs
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    Console().print(table)
