"""The console fixture of tests/cli, for the search command."""

from tests.cli.conftest import console_config  # noqa: F401
