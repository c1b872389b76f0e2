"""``maild attachments get N``: a ticket's attachments written to a folder.

Every name is a stranger's text: it is made a single harmless path component again
(parsing.filenames), two files of one name get ``-2``, ``-3``…, and nothing that is already
in the folder is overwritten (a file is created only if the name is free). No path from the
mail is ever used.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.reading import read_view


@click.group()
def attachments() -> None:
    """A ticket's files."""


@attachments.command("get")
@click.argument("number", type=int)
@click.option(
    "--out",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder to write them in (made when missing).",
)
@config_option
@pass_cli
def get(cli: CliContext, number: int, folder: Path) -> None:
    """Write ticket N's attachments to a folder; prints each file's name."""
    from parsing.filenames import safe_filename
    from storage.console import ticket_files

    files = read_view(cli.config(), lambda session: ticket_files(session, number))
    if files is None:
        raise click.ClickException(f"no ticket #{number}")
    if not files:
        click.echo(f"ticket #{number} has no attachments", err=True)
        return
    folder.mkdir(parents=True, exist_ok=True)
    for index, stored in enumerate(files, start=1):
        name = safe_filename(stored.filename, index=index, content_type=stored.content_type)
        path = _write_new(folder, name, stored.data)
        click.echo(str(path))


def _write_new(folder: Path, name: str, data: bytes) -> Path:
    """Create ``name`` in ``folder`` (``name-2.ext``… when taken) and write ``data``."""
    stem, dot, suffix = name.rpartition(".")
    if not dot or not stem:
        stem, suffix = name, ""
    for attempt in range(1, 10_000):
        candidate = name if attempt == 1 else f"{stem}-{attempt}{'.' + suffix if suffix else ''}"
        path = folder / candidate
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        return path
    raise click.ClickException(f"no free name for {name} in {folder}")


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
