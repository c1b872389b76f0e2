"""``maild agents``: the declared agents and how many open tickets each has."""

from __future__ import annotations

import click

from maild.cli.context import CliContext, config_option, pass_cli
from maild.cli.output import echo_json, print_table
from maild.cli.reading import read_view
from storage.console import open_tickets_per_assignee


@click.command("agents")
@click.option("--json", "as_json", is_flag=True)
@config_option
@pass_cli
def agents(cli: CliContext, as_json: bool) -> None:
    """List agents ([[agents]]) with their open tickets (new, open, pending)."""
    config = cli.config()
    declared = config.policy.agents
    counts = read_view(config, open_tickets_per_assignee)
    listing = [
        {
            "address": agent.address,
            "name": agent.name,
            "aliases": list(agent.aliases),
            "teams": list(agent.teams),
            "skills": list(agent.skills),
            "active": agent.active,
            "max_open": agent.max_open,
            "open_tickets": counts.get(agent.address, 0),
        }
        for agent in declared
    ]
    if as_json:
        echo_json(listing)
        return
    print_table(
        "Agents",
        ["address", "name", "teams", "skills", "active", "open / max"],
        [
            [
                a["address"],
                a["name"],
                ", ".join(a["teams"]),
                ", ".join(a["skills"]),
                "yes" if a["active"] else "no",
                f"{a['open_tickets']} / {a['max_open'] or '-'}",
            ]
            for a in listing
        ],
    )
