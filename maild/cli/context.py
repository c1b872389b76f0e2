"""What every command gets: the configuration, loaded lazily and once.

Imported by the root group, so it imports the configuration (pydantic) only when a command
asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from maild.config import Config


@dataclass
class CliContext:
    config_path: Path | None
    log_level: str | None
    _config: Config | None = field(default=None, repr=False)

    @property
    def resolved_path(self) -> Path | None:
        from maild.config import resolve_config_path

        return resolve_config_path(self.config_path)

    def config(self) -> Config:
        """The validated configuration; a bad one ends the command with the error (exit 2)."""
        from maild.config import ConfigError, load_config
        from maild.logs import configure_logging

        if self._config is None:
            try:
                self._config = load_config(self.resolved_path)
            except ConfigError as error:
                raise click.ClickException(f"configuration error: {error}") from None
            maild = self._config.maild
            configure_logging(self.log_level or maild.log_level, maild.log_format)
        return self._config


pass_cli = click.make_pass_decorator(CliContext)

F = TypeVar("F")


def _set_config_path(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.ensure_object(CliContext).config_path = value


def config_option(command: F) -> F:
    """``-c/--config`` after the subcommand too: ``maild serve -c FILE``."""
    return click.option(
        "-c",
        "--config",
        type=click.Path(dir_okay=False, path_type=Path),
        expose_value=False,
        is_eager=True,
        callback=_set_config_path,
        help="TOML configuration file.",
    )(command)
