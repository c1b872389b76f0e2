"""The console starts fast because it imports only what a command uses: ``maild parse`` and
``maild tickets show`` load neither the daemon (receiver, scheduler, pipeline, templates) nor
Alembic. Checked on what ``python -m maild`` has imported when it exits, not on wall time."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from maild.cli import COMMANDS, cli
from tests.cli.conftest import invoke
from tests.mails import customer_mail

# What only the daemon, a write or a simulation needs.
DAEMON = (
    "maild.service",
    "maild.runtime",
    "maild.scheduler",
    "maild.pipeline",
    "maild.pipeline.writer",
    "maild.receiver",
    "maild.imap",
    "outbound",
    "aiosmtpd",
    "apscheduler",
    "imapclient",
    "jinja2",
    "alembic",  # the schema is checked only when a view fails
    "rich",  # tables only: `tickets list`, not `show`
)


# Runs ``python -m maild ARGS`` and, as the interpreter exits, writes every module it holds
# (``-X importtime`` would miss the ones ``importlib.import_module`` loads).
_RUN = """
import atexit, runpy, sys
listing, *args = sys.argv[1:]
atexit.register(lambda: open(listing, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["maild", *args]
runpy.run_module("maild", run_name="__main__", alter_sys=True)
"""


def imported_by(*args: str, cwd: Path) -> set[str]:
    """The modules ``python -m maild ARGS`` has imported when it exits."""
    listing = cwd / "modules.txt"
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(listing), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(listing.read_text().split())


def heavy(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {m for m in modules if any(m == n or m.startswith(n + ".") for n in names)}


def test_parse_imports_neither_the_daemon_nor_the_database(
    tmp_path: Path, console_config: Path
) -> None:
    mail = tmp_path / "mail.eml"
    mail.write_bytes(customer_mail())
    modules = imported_by("-c", str(console_config), "parse", str(mail), cwd=tmp_path)
    assert "parsing.parse" in modules and "maild.cli.mail" in modules  # it did run
    assert heavy(modules, (*DAEMON, "sqlalchemy", "storage")) == set()


def test_tickets_show_imports_no_daemon_module(tmp_path: Path, console_config: Path) -> None:
    stored = invoke(console_config, "ingest", input=customer_mail())
    assert stored.exit_code == 0, stored.output
    for args in (("tickets", "show", "1000"), ("tickets", "show", "--json", "1000")):
        modules = imported_by("-c", str(console_config), *args, cwd=tmp_path)
        assert "maild.cli.tickets" in modules  # it did run
        assert heavy(modules, DAEMON) == set(), args


def test_help_lists_every_command_and_each_one_loads() -> None:
    result = invoke(Path("unused.toml"), "--help")
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"  {name} " in listed, name
    context = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(context, name)
        assert isinstance(command, click.Command) and command.name == name
