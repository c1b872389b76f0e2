"""The agents' set-up (two agents, trust by Authentication-Results) for the trust tests."""

from tests.agents.conftest import config, config_file

__all__ = ["config", "config_file"]
